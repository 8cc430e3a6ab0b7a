// deno run -A tools/make_robust.ts: (re)generate data/robust/, the
// robustness set: digits that are not MNIST, made here, 44 per digit, seeded:
// - typeset: 12 fonts "photographed" (rotated +-15 deg, off-centre, dark ink
//   on uneven light paper, sensor noise, JPEG);
// - strokes: pen strokes from per-digit templates, jittered, random width;
// - tilted: the same strokes slanted (skew +-20 deg) and turned +-30 deg, as
//   a slanted hand or a phone held askew gives them;
// - mouse: thin tremulous strokes on a white canvas, lossless PNG;
// - marker: very thick strokes;
// - pencil: faint grey, soft-edged, broken strokes on paper;
// - variant: other ways people write each digit (1 with flag and base,
//   crossed 7, open 4, straight-stemmed 9, looped 2, ...), pen on paper.
// - phone: 12 MP phone photos of the pen, marker, variant and typeset digits
//   (tools/phone_photo.ts), stored turned or mirrored with the EXIF
//   Orientation that shows them upright (all eight values), JPEG and WebP,
//   plus an upright HEIC copy of one per digit (heif-enc, libheif's encoder).
//   Only the HEIC copies are files here; the
//   JPEG/WebP photos are rebuilt from their recipe in labels.json when the set
//   is loaded (12 MP files do not belong in the repository).
// 440 image files, 10 HEIC files and labels.json (file, digit, kind; phone
// recipes). `--phone` rewrites only the phone kind, leaving the rest.
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import jpeg from "jpeg-js";
import { createRng } from "../shared/rng.ts";
import { phonePhoto } from "./phone_photo.ts";

const OUT = new URL("../data/robust/", import.meta.url).pathname;
const FONTS: [string, string][] = [
  ["DejaVu Sans", "dejavu/DejaVuSans.ttf"],
  ["DejaVu Sans", "dejavu/DejaVuSans-Bold.ttf"],
  ["DejaVu Sans", "dejavu/DejaVuSans-Oblique.ttf"],
  ["DejaVu Serif", "dejavu/DejaVuSerif.ttf"],
  ["DejaVu Serif", "dejavu/DejaVuSerif-Bold.ttf"],
  ["DejaVu Serif", "dejavu/DejaVuSerif-Italic.ttf"],
  ["DejaVu Sans Mono", "dejavu/DejaVuSansMono.ttf"],
  ["DejaVu Sans Mono", "dejavu/DejaVuSansMono-Bold.ttf"],
  ["Liberation Sans", "liberation/LiberationSans-Regular.ttf"],
  ["Liberation Serif", "liberation/LiberationSerif-Regular.ttf"],
  ["Liberation Serif", "liberation/LiberationSerif-Italic.ttf"],
  ["Liberation Mono", "liberation/LiberationMono-Regular.ttf"],
];
const STROKES: [number, number][][] = [
  Array.from(
    { length: 17 },
    (_, i) => [0.5 + 0.27 * Math.sin((i * Math.PI) / 8), 0.5 - 0.38 * Math.cos((i * Math.PI) / 8)],
  ),
  [[0.42, 0.22], [0.55, 0.1], [0.55, 0.9]],
  [[0.25, 0.3], [0.35, 0.12], [0.6, 0.1], [0.75, 0.25], [0.7, 0.45], [0.25, 0.88], [0.8, 0.88]],
  [[0.25, 0.15], [0.7, 0.15], [0.45, 0.45], [0.72, 0.6], [0.7, 0.82], [0.45, 0.9], [0.25, 0.82]],
  [[0.6, 0.9], [0.6, 0.1], [0.2, 0.65], [0.8, 0.65]],
  [[0.75, 0.12], [0.3, 0.12], [0.27, 0.45], [0.6, 0.42], [0.75, 0.6], [0.7, 0.85], [0.3, 0.88]],
  [[0.7, 0.12], [0.4, 0.3], [0.28, 0.6], [0.35, 0.85], [0.6, 0.88], [0.72, 0.68], [0.6, 0.5], [0.3, 0.6]],
  [[0.22, 0.15], [0.78, 0.15], [0.45, 0.9]],
  [
    [0.5, 0.5],
    [0.3, 0.35],
    [0.35, 0.15],
    [0.65, 0.15],
    [0.7, 0.35],
    [0.5, 0.5],
    [0.28, 0.7],
    [0.35, 0.9],
    [0.65, 0.9],
    [0.72, 0.7],
    [0.5, 0.5],
  ],
  [[0.7, 0.4], [0.45, 0.5], [0.3, 0.35], [0.4, 0.12], [0.65, 0.12], [0.72, 0.35], [0.65, 0.88]],
];

/** Second glyphs, one per digit, as separate pen strokes (unit box, y down). */
const VARIANTS: [number, number][][][] = [
  [Array.from(
    { length: 17 },
    (_, i) => [0.5 + 0.2 * Math.sin((i * Math.PI) / 8), 0.5 - 0.4 * Math.cos((i * Math.PI) / 8)],
  )],
  [[[0.3, 0.28], [0.55, 0.1], [0.55, 0.9]], [[0.32, 0.9], [0.78, 0.9]]],
  [[
    [0.25, 0.3],
    [0.35, 0.12],
    [0.6, 0.1],
    [0.75, 0.25],
    [0.7, 0.45],
    [0.3, 0.85],
    [0.22, 0.76],
    [0.32, 0.72],
    [0.42, 0.86],
    [0.8, 0.88],
  ]],
  [[[0.25, 0.12], [0.72, 0.12], [0.45, 0.45], [0.72, 0.6], [0.7, 0.82], [0.45, 0.92], [0.25, 0.82]]],
  [[[0.3, 0.1], [0.22, 0.6], [0.8, 0.6]], [[0.62, 0.3], [0.62, 0.92]]],
  [[[0.3, 0.12], [0.27, 0.45], [0.55, 0.4], [0.72, 0.58], [0.68, 0.85], [0.3, 0.88]], [[0.3, 0.12], [
    0.75,
    0.12,
  ]]],
  [[[0.65, 0.1], [0.32, 0.55], [0.3, 0.8], [0.5, 0.9], [0.7, 0.75], [0.62, 0.55], [0.35, 0.6]]],
  [[[0.22, 0.15], [0.78, 0.15], [0.45, 0.9]], [[0.35, 0.52], [0.72, 0.52]]],
  [
    Array.from(
      { length: 13 },
      (_, i) => [0.5 + 0.18 * Math.sin((i * Math.PI) / 6), 0.3 - 0.19 * Math.cos((i * Math.PI) / 6)],
    ),
    Array.from(
      { length: 13 },
      (_, i) => [0.5 + 0.22 * Math.sin((i * Math.PI) / 6), 0.7 - 0.21 * Math.cos((i * Math.PI) / 6)],
    ),
  ],
  [
    Array.from(
      { length: 13 },
      (_, i) => [0.5 + 0.2 * Math.sin((i * Math.PI) / 6), 0.3 - 0.2 * Math.cos((i * Math.PI) / 6)],
    ),
    [[0.7, 0.3], [0.7, 0.92]],
  ],
];

const S = 160, rng = createRng(2026);
const r = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
await initWasm(
  Deno.readFileSync(new URL("../node_modules/@resvg/resvg-wasm/index_bg.wasm", import.meta.url)),
);
const buffers = FONTS.map(([, f]) => Deno.readFileSync(`/usr/share/fonts/truetype/${f}`));

function paper(): string {
  const a = Math.round(r(205, 245)), b = Math.round(r(185, 235)), tint = Math.round(r(-8, 4));
  return `<defs><linearGradient id="p" x1="${r(0, 1)}" y1="0" x2="${r(0, 1)}" y2="1">` +
    `<stop offset="0" stop-color="rgb(${a},${a},${a + tint})"/><stop offset="1" stop-color="rgb(${b},${b},${
      b + tint
    })"/>` +
    `</linearGradient></defs><rect width="${S}" height="${S}" fill="url(#p)"/>`;
}
const ink = (lo = 15, hi = 70) => `rgb(${[0, 0, 0].map(() => Math.round(r(lo, hi))).join(",")})`;

/** Rasterise, add sensor noise, encode as JPEG of random quality. */
function photo(svg: string, font?: number): Uint8Array {
  const png = render(svg, font);
  const px = png.pixels;
  for (let i = 0; i < px.length; i += 4) {
    const n = rng.normal() * 6;
    for (let c = 0; c < 3; c++) px[i + c] = Math.max(0, Math.min(255, px[i + c] + n));
  }
  return jpeg.encode({ width: png.width, height: png.height, data: px }, Math.round(r(55, 90))).data;
}

function render(svg: string, font?: number) {
  return new Resvg(svg, {
    font: { fontBuffers: font === undefined ? [] : [buffers[font]], loadSystemFonts: false },
  }).render();
}

/**
 * Digit d's template as an SVG path in a random box: scale 0.45-0.8 of the
 * canvas, anywhere on it, each point jittered by `jitter` (fraction of the
 * box); `tremor` > 0 subdivides segments into jittered steps (a hand on a mouse).
 */
function strokePath(glyph: [number, number][][], jitter = 0.04, tremor = 0): string {
  const scale = r(0.45, 0.8), ox = r(0.1, 0.9 - scale) * S, oy = r(0.05, 0.95 - scale) * S;
  return glyph.map((line) => {
    let pts = line.map(([px, py]) => [px + r(-jitter, jitter), py + r(-jitter, jitter)]);
    if (tremor > 0) {
      pts = pts.flatMap(([x, y], i) => {
        if (i === 0) return [[x, y]];
        const [x0, y0] = pts[i - 1];
        return Array.from({ length: 6 }, (_, k) => {
          const t = (k + 1) / 6, e = k === 5 ? 0 : tremor;
          return [x0 + (x - x0) * t + r(-e, e), y0 + (y - y0) * t + r(-e, e)];
        });
      });
    }
    return pts.map(([x, y], i) =>
      `${i ? "L" : "M"}${(ox + x * scale * S).toFixed(1)},${(oy + y * scale * S).toFixed(1)}`
    )
      .join("");
  }).join("");
}

/** One stroke digit on paper: width, ink, transform and extra path attributes chosen by the caller. */
function strokeSvg(
  glyph: [number, number][][],
  o: { width: number; ink: string; transform: string; extra?: string },
) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}">${paper()}` +
    `<defs><filter id="soft"><feGaussianBlur stdDeviation="${r(0.8, 1.8).toFixed(2)}"/></filter></defs>` +
    `<path d="${
      strokePath(glyph)
    }" fill="none" stroke="${o.ink}" stroke-width="${o.width}" stroke-linecap="round" ` +
    `stroke-linejoin="round" transform="${o.transform}" ${o.extra ?? ""}/></svg>`;
}

/** Lossless PNG of an SVG (a screen drawing: no camera, no JPEG). */
function screen(svg: string): Uint8Array {
  const png = render(svg);
  return png.asPng();
}

const turn = (deg: number) => `rotate(${r(-deg, deg).toFixed(1)} ${S / 2} ${S / 2})`;

/** A phone photo's recipe: `source` photographed as tools/phone_photo.ts does. */
export interface PhoneRecipe {
  source: string;
  orientation: number;
  seed: number;
  format: "jpeg" | "webp";
}
type Label = { file: string; digit: number; kind: string; font?: string } & Partial<PhoneRecipe>;

/** Four phone photos per digit (orientations cycle 1-8, every fourth WebP) and one HEIC copy. */
async function phoneKind(): Promise<Label[]> {
  const out: Label[] = [];
  for (let d = 0; d < 10; d++) {
    const sources = [`stroke-${d}-0.jpg`, `marker-${d}-0.jpg`, `variant-${d}-0.jpg`, `typed-${d}-0.jpg`];
    sources.forEach((source, k) => {
      const n = d * 4 + k, format = k === 3 ? "webp" : "jpeg";
      const recipe = { source, orientation: 1 + (n % 8), seed: 100 + n, format } as const;
      out.push({
        file: `phone-${d}-${k}.${format === "jpeg" ? "jpg" : "webp"}`,
        digit: d,
        kind: "phone",
        ...recipe,
      });
    });
    const first = out.at(-4)!, heic = `phone-${d}-4.heic`, jpg = await Deno.makeTempFile({ suffix: ".jpg" });
    // Upright: heif-enc turns the pixels by a JPEG's EXIF Orientation itself,
    // and gets the transposing ones (5, 7) wrong.
    const recipe = { source: first.source!, orientation: 1, seed: first.seed!, format: "jpeg" } as const;
    await Deno.writeFile(jpg, await phonePhoto(Deno.readFileSync(`${OUT}${first.source}`), recipe));
    const enc = await new Deno.Command("heif-enc", { args: ["-q", "40", "-o", `${OUT}${heic}`, jpg] })
      .output();
    await Deno.remove(jpg);
    if (!enc.success) {
      throw new Error(
        `heif-enc failed (apt-get install libheif-examples): ${new TextDecoder().decode(enc.stderr)}`,
      );
    }
    out.push({ file: heic, digit: d, kind: "phone", ...recipe });
  }
  return out;
}

if (Deno.args.includes("--phone")) {
  const kept = (JSON.parse(Deno.readTextFileSync(`${OUT}labels.json`)) as Label[]).filter((l) =>
    l.kind !== "phone"
  );
  const labels = [...kept, ...await phoneKind()];
  Deno.writeTextFileSync(`${OUT}labels.json`, JSON.stringify(labels, null, 2) + "\n");
  console.log(`wrote the phone kind: ${labels.length} entries in ${OUT}labels.json`);
  Deno.exit(0);
}

await Deno.mkdir(OUT, { recursive: true });
const labels: Label[] = [];
function addImages(kind: string, d: number, count: number, make: () => [Uint8Array, string]) {
  for (let v = 0; v < count; v++) {
    const [bytes, ext] = make();
    const name = `${kind}-${d}-${v}.${ext}`;
    Deno.writeFileSync(`${OUT}${name}`, bytes);
    labels.push({ file: name, digit: d, kind });
  }
}

for (let d = 0; d < 10; d++) {
  FONTS.forEach(([family, file], f) => {
    const size = r(70, 115), x = r(0.35, 0.65) * S, y = r(0.55, 0.78) * S, rot = r(-15, 15);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}">${paper()}` +
      `<text x="${x}" y="${y}" font-family="${family}" font-size="${size}" fill="${ink()}" text-anchor="middle" ` +
      `transform="rotate(${rot} ${x} ${y - size / 3})">${d}</text></svg>`;
    const name = `typed-${d}-${f}.jpg`;
    Deno.writeFileSync(`${OUT}${name}`, photo(svg, f));
    labels.push({ file: name, digit: d, kind: "typeset", font: file });
  });
  const add = (kind: string, count: number, make: () => [Uint8Array, string]) =>
    addImages(kind, d, count, make);
  const glyph = [STROKES[d]];
  add(
    "stroke",
    8,
    () => [photo(strokeSvg(glyph, { width: r(4, 12), ink: ink(), transform: turn(12) })), "jpg"],
  );
  add("tilted", 6, () => {
    const transform = `${turn(30)} skewX(${r(-20, 20).toFixed(1)})`;
    return [photo(strokeSvg(glyph, { width: r(4, 12), ink: ink(), transform })), "jpg"];
  });
  add("mouse", 5, () => {
    const bg = `<rect width="${S}" height="${S}" fill="white"/>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}">${bg}` +
      `<path d="${strokePath(glyph, 0.05, 0.012)}" fill="none" stroke="black" stroke-width="${r(1.5, 3)}" ` +
      `stroke-linecap="round" stroke-linejoin="round" transform="${turn(8)}"/></svg>`;
    return [screen(svg), "png"];
  });
  add(
    "marker",
    4,
    () => [photo(strokeSvg(glyph, { width: r(15, 22), ink: ink(), transform: turn(12) })), "jpg"],
  );
  add("pencil", 5, () => {
    const dash = `stroke-dasharray="${r(10, 25).toFixed(0)} ${r(2, 5).toFixed(0)}" filter="url(#soft)"`;
    return [
      photo(strokeSvg(glyph, { width: r(3, 6), ink: ink(90, 140), transform: turn(12), extra: dash })),
      "jpg",
    ];
  });
}
// Drawn after the rest, so adding them left the other images as they were.
for (let d = 0; d < 10; d++) {
  addImages(
    "variant",
    d,
    4,
    () => [photo(strokeSvg(VARIANTS[d], { width: r(4, 12), ink: ink(), transform: turn(15) })), "jpg"],
  );
}
labels.push(...await phoneKind());
Deno.writeTextFileSync(`${OUT}labels.json`, JSON.stringify(labels, null, 2) + "\n");
console.log(`wrote ${labels.length} images to ${OUT}`);

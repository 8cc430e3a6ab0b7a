// deno run -A tools/make_robust.ts: (re)generate tests/robust/, the
// robustness set: digits that are not MNIST, made here. Typeset digits in 12
// fonts "photographed" (rotated, off-centre, dark ink on uneven light paper,
// sensor noise, JPEG), and synthetic pen strokes from per-digit templates
// with jitter and random thickness. 200 images and labels.json, seeded.
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import jpeg from "jpeg-js";
import { createRng } from "../shared/rng.ts";

const OUT = new URL("../tests/robust/", import.meta.url).pathname;
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
const ink = () => `rgb(${[0, 0, 0].map(() => Math.round(r(15, 70))).join(",")})`;

/** Rasterise, add sensor noise, encode as JPEG of random quality. */
function photo(svg: string, font?: number): Uint8Array {
  const png = new Resvg(svg, {
    font: { fontBuffers: font === undefined ? [] : [buffers[font]], loadSystemFonts: false },
  }).render();
  const px = png.pixels;
  for (let i = 0; i < px.length; i += 4) {
    const n = rng.normal() * 6;
    for (let c = 0; c < 3; c++) px[i + c] = Math.max(0, Math.min(255, px[i + c] + n));
  }
  return jpeg.encode({ width: png.width, height: png.height, data: px }, Math.round(r(55, 90))).data;
}

await Deno.mkdir(OUT, { recursive: true });
const labels: { file: string; digit: number; kind: string; font?: string }[] = [];
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
  for (let v = 0; v < 8; v++) {
    const scale = r(0.45, 0.8),
      ox = r(0.1, 0.9 - scale) * S,
      oy = r(0.05, 0.95 - scale) * S,
      rot = r(-12, 12);
    const pts = STROKES[d].map((
      [px, py],
    ) => [ox + (px + r(-0.04, 0.04)) * scale * S, oy + (py + r(-0.04, 0.04)) * scale * S]);
    const path = pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}">${paper()}` +
      `<path d="${path}" fill="none" stroke="${ink()}" stroke-width="${r(4, 12)}" stroke-linecap="round" ` +
      `stroke-linejoin="round" transform="rotate(${rot} ${S / 2} ${S / 2})"/></svg>`;
    const name = `stroke-${d}-${v}.jpg`;
    Deno.writeFileSync(`${OUT}${name}`, photo(svg));
    labels.push({ file: name, digit: d, kind: "strokes" });
  }
}
Deno.writeTextFileSync(`${OUT}labels.json`, JSON.stringify(labels, null, 1) + "\n");
console.log(`wrote ${labels.length} images to ${OUT}`);

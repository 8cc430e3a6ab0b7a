// decodeImage(): every format from a real encoder, and the size limits.
// the size limits. Files come from sharp's encoders (libjpeg, libpng, libwebp,
// cgif, libtiff, aom) in the test, or from tests/images/, made from
// tests/images/seven.png by encoders sharp lacks:
//   convert seven.png -type truecolor bmp3:seven-24.bmp   (ImageMagick 6.9)
//   convert seven.png -type palette -compress none bmp3:seven-8.bmp
//   convert seven.png -monochrome bmp3:seven-1.bmp
//   convert seven.png -type palette -compress RLE bmp3:seven-rle8.bmp
//   convert seven.png -type truecolormatte bmp:seven-32v5.bmp
//   heif-enc -q 70 -o seven.heic seven.png                 (libheif 1.15, x265)
import sharp from "sharp";
import { decodeImage } from "../shared/decode.ts";
import { sniffFormat } from "../shared/format.ts";
import { toMnist } from "../shared/preprocess.ts";
import { bombPng, drawn, jpg, meanAbsDiff, png } from "./fixtures.ts";
import { encode as encodePng } from "fast-png";
import { assert, assertClose, assertEquals, assertRejects, clientError } from "./assert.ts";

const here = (p: string) => new URL(p, import.meta.url);
const seven = Deno.readFileSync(here("./images/seven.png"));
const input = async (bytes: Uint8Array, name = "x") => toMnist(await decodeImage(bytes, name), name);

const rejectsWith = (p: Promise<unknown>, code: string, text?: RegExp) =>
  assertRejects(p, clientError(code, text));

Deno.test("decodeImage() reads JPEG (baseline, progressive, gray, CMYK), WebP, GIF, TIFF, AVIF as the PNG", async () => {
  const ref = await input(seven);
  const s = () => sharp(seven);
  const files: [string, Promise<Buffer>, number][] = [
    ["jpeg", s().jpeg({ quality: 90 }).toBuffer(), 0.02],
    ["jpeg progressive", s().jpeg({ quality: 90, progressive: true }).toBuffer(), 0.02],
    ["jpeg gray", s().grayscale().jpeg({ quality: 90 }).toBuffer(), 0.02],
    ["jpeg cmyk", s().toColourspace("cmyk").jpeg({ quality: 90 }).toBuffer(), 0.02],
    ["webp lossy", s().webp({ quality: 90 }).toBuffer(), 0.02],
    ["webp lossless", s().webp({ lossless: true }).toBuffer(), 1e-6],
    ["gif", s().gif().toBuffer(), 0.02],
    ["tiff", s().tiff({ compression: "lzw" }).toBuffer(), 1e-6],
    ["avif", s().avif({ quality: 80 }).toBuffer(), 0.02],
  ];
  for (const [name, bytes, tol] of files) {
    const b = new Uint8Array(await bytes);
    if (name === "jpeg cmyk") assertEquals((await sharp(b).metadata()).space, "cmyk");
    const d = meanAbsDiff(await input(b, name), ref);
    assert(d <= tol, `${name}: mean |difference| ${d.toFixed(4)} > ${tol}`);
  }
});

Deno.test("decodeImage() reads WebP with alpha and GIF's first frame, over white paper", async () => {
  const ref = await input(seven);
  // Ink opaque, paper fully transparent: the paper must come out white, not black.
  const g = await sharp(seven).toColourspace("b-w").raw().toBuffer();
  const ga = new Uint8Array(g.length * 2).map((
    _,
    i,
  ) => (i % 2 ? Math.round(((235 - g[i >> 1]) / 215) * 255) : 0));
  const webp = await sharp(ga, { raw: { width: 160, height: 120, channels: 2 } }).webp({ lossless: true })
    .toBuffer();
  assertEquals((await sharp(webp).metadata()).hasAlpha, true);
  const gray = await decodeImage(webp, "alpha");
  assert(gray.data[0] > 0.99, `transparent paper read as ${gray.data[0]}`);
  assert(meanAbsDiff(toMnist(gray, "alpha"), ref) <= 0.05, "alpha WebP");
  // Two frames: the digit, then a blank page. The first frame is what is read.
  const blank = await sharp({ create: { width: 160, height: 120, channels: 3, background: "#fff" } }).png()
    .toBuffer();
  const gif = await sharp([seven, blank], { join: { animated: true } }).gif().toBuffer();
  assertEquals((await sharp(gif, { pages: -1 }).metadata()).pages, 2);
  assert(meanAbsDiff(await input(gif, "gif"), ref) <= 0.02, "GIF first frame");
});

// 30x30 takes fast-png (shared/png.ts), 90x90 takes sharp: both read every kind alike.
for (const n of [30, 90]) {
  Deno.test(`decodeImage() reads ${n}x${n} PNG of every kind: gray, gray+alpha, RGB, RGBA, 16-bit, palette`, async () => {
    const g = drawn(n, n, (x, y) => Math.abs(x - n / 2) < n / 10 && y > n / 7 && y < (6 * n) / 7);
    const ref = await input(png(n, n, g), "g");
    const rgb = new Uint8Array(g.length * 3).map((_, i) => g[Math.floor(i / 3)]);
    const rgba = new Uint8Array(g.length * 4).map((_, i) => (i % 4 === 3 ? 255 : g[Math.floor(i / 4)]));
    const ga = new Uint8Array(g.length * 2).map((_, i) => (i % 2 ? 255 : g[i >> 1]));
    const palette = [[255, 255, 255], [20, 20, 20], [0, 0, 255], [255, 0, 0]];
    const idx = g.map((v) => (v === 255 ? 0 : 1));
    const stride = Math.ceil(n / 4); // 2 bits a pixel
    const packed = new Uint8Array(n * stride);
    idx.forEach((
      v,
      i,
    ) => (packed[Math.floor(i / n) * stride + ((i % n) >> 2)] |= v << (6 - 2 * (i % n % 4))));
    const kinds: [string, Uint8Array][] = [
      ["rgb", png(n, n, rgb, 3)],
      ["rgba", png(n, n, rgba, 4)],
      ["ga", png(n, n, ga, 2)],
      ["16", png(n, n, g, 1, 16)],
      ["p8", encodePng({ width: n, height: n, data: idx, channels: 1, depth: 8, palette })],
      ["p2", encodePng({ width: n, height: n, data: packed, channels: 1, depth: 2, palette })],
      ["jpeg-js", jpg(n, n, g)],
    ];
    for (const [name, bytes] of kinds) {
      const d = meanAbsDiff(await input(bytes, name), ref);
      assert(d <= (name === "jpeg-js" ? 0.06 : 2e-3), `${n}x${n} ${name}: ${d}`);
    }
    // Transparent background, opaque black stroke: the canvas drawing case.
    const t = new Uint8Array(n * n * 4);
    for (let i = 0; i < n * n; i++) if (i % n === n >> 1) t.set([0, 0, 0, 255], 4 * i);
    const img = await decodeImage(png(n, n, t, 4), "t");
    assertEquals([img.data[0], img.data[n >> 1]], [1, 0]);
  });
}

Deno.test("decodeImage() reads HEIC (libheif) and BMP (1, 8, 24 and 32-bit V5) as the PNG", async () => {
  const ref = await input(seven);
  for (
    const [f, tol] of [["seven.heic", 0.03], ["seven-24.bmp", 2e-3], ["seven-8.bmp", 2e-3], [
      "seven-32v5.bmp",
      2e-3,
    ]] as const
  ) {
    const d = meanAbsDiff(await input(Deno.readFileSync(here(`./images/${f}`)), f), ref);
    assert(d <= tol, `${f}: mean |difference| ${d.toFixed(4)} > ${tol}`);
  }
  // One bit per pixel thresholds the anti-aliased edge: the same digit, coarser.
  const d1 = meanAbsDiff(await input(Deno.readFileSync(here("./images/seven-1.bmp"))), ref);
  assert(d1 <= 0.05, `1-bit BMP: ${d1}`);
  assertEquals(sniffFormat(Deno.readFileSync(here("./images/seven.heic"))), "heic");
});

Deno.test("decodeImage() refuses what it cannot read with stable codes", async () => {
  await rejectsWith(
    decodeImage(new TextEncoder().encode("%PDF-1.7\n%...."), "pdf"),
    "unsupported_image_format",
  );
  await rejectsWith(decodeImage(new Uint8Array(4), "tiny"), "unsupported_image_format");
  const heic = Deno.readFileSync(here("./images/seven.heic"));
  await rejectsWith(decodeImage(heic.slice(0, 200), "heic"), "undecodable_image", /"heic"/);
  const bmp = Deno.readFileSync(here("./images/seven-24.bmp"));
  await rejectsWith(decodeImage(bmp.slice(0, 1000), "bmp"), "undecodable_image");
  // RLE-compressed BMP (ImageMagick, `-compress RLE bmp3:`): bmpimagejs does not read it.
  await rejectsWith(
    decodeImage(Deno.readFileSync(here("./images/seven-rle8.bmp")), "rle"),
    "undecodable_image",
  );
  const webp = await sharp(seven).webp().toBuffer();
  await rejectsWith(decodeImage(webp.subarray(0, 40), "webp"), "undecodable_image");
  // The service keeps decoding after failures.
  assert(meanAbsDiff(await input(seven), await input(seven)) === 0);
});

Deno.test("decodeImage() refuses sizes over the limits from the header, before decoding (413 codes)", async () => {
  await rejectsWith(decodeImage(bombPng(), "bomb"), "image_too_large", /30000x30000/);
  await rejectsWith(decodeImage(bombPng(0, 10), "zero"), "undecodable_image");
  // A real 1x1 JPEG whose frame header is patched to declare 9000x6000 (54 MP).
  const one = new Uint8Array(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: "#fff" } }).jpeg()
      .toBuffer(),
  );
  for (let i = 2; i < one.length; i += 2 + ((one[i + 2] << 8) | one[i + 3])) {
    if (one[i + 1] === 0xc0) {
      new DataView(one.buffer).setUint16(i + 5, 6000);
      new DataView(one.buffer).setUint16(i + 7, 9000);
      break;
    }
  }
  await rejectsWith(decodeImage(one, "big"), "image_too_large", /9000x6000/);
  const tall = bombPng(100, 20000);
  await rejectsWith(decodeImage(tall, "tall"), "image_too_large", /100x20000/);
  await rejectsWith(decodeImage(seven, "s", { maxSide: 100, maxPixels: 1e6 }), "image_too_large", /160x120/);
});

Deno.test("decodeImage() accepts a 48 MP (8064x6048) phone-sized JPEG, shrunk on load", async () => {
  const page = await sharp({ create: { width: 8064, height: 6048, channels: 3, background: "#ebebeb" } })
    .composite([{ input: await sharp(seven).resize(4800).toBuffer(), left: 1000, top: 1000 }])
    .jpeg({ quality: 80 }).toBuffer();
  const gray = await decodeImage(page, "48mp");
  assertEquals([gray.width, gray.height], [320, 240]);
  assertClose(meanAbsDiff(toMnist(gray, "48mp"), await input(seven)), 0, 0.05, "48 MP vs small");
});

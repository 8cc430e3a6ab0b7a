// The decoders' edge cases, each with the answer it must give: PNG (fast-png),
// BMP (bmpimagejs, every header kind), the JavaScript JPEG path (jpeg-js and
// the EXIF reader) on crafted bytes, and decodeImage's codes for each.
// Small inputs made in memory, or tests/images/.
import sharp from "sharp";
import { encode as encodePng } from "fast-png";
import { decodeImage } from "../shared/decode.ts";
import { decodeJs, exifOrientation, rawToGray } from "../shared/decode_js.ts";
import { fromPng } from "../shared/png.ts";
import { decodeBmpRgb } from "../shared/bmp.ts";
import { declaredSize, sniffFormat } from "../shared/format.ts";
import { checkSize, DEFAULT_IMAGE_LIMITS } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";
import { ClientError } from "../shared/errors.ts";
import { drawn, jpg, meanAbsDiff } from "./fixtures.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows, clientError } from "./assert.ts";

const SEVEN = Deno.readFileSync(new URL("./images/seven.png", import.meta.url));
const L = DEFAULT_IMAGE_LIMITS;
/** Thrown as a plain Error (a malformed file), not a ClientError. */
const plainError = (text: RegExp) => (e: Error) => !(e instanceof ClientError) && text.test(e.message);

// --- PNG (shared/png.ts) --------------------------------------------------

Deno.test("fromPng() refuses a size other than the IHDR's and palette indices past the PLTE", () => {
  assertThrows(() => fromPng(SEVEN, 161, 120), plainError(/IHDR changed/));
  // A two-colour palette, a pixel pointing at entry 5.
  const bad = encodePng({
    width: 4,
    height: 1,
    data: Uint8Array.of(0, 1, 5, 1),
    channels: 1,
    depth: 8,
    palette: [[255, 255, 255], [0, 0, 0]],
  });
  assertThrows(() => fromPng(bad, 4, 1), plainError(/palette index 5 is out of range/));
});

Deno.test("fromPng() refuses a palette PNG (colour type 3) without its PLTE chunk", () => {
  const png = encodePng({
    width: 2,
    height: 1,
    data: Uint8Array.of(0, 1),
    channels: 1,
    depth: 8,
    palette: [[0, 0, 0], [9, 9, 9]],
  });
  // Drop the PLTE chunk (length, type, 6 bytes, CRC) that follows IHDR.
  assertEquals(String.fromCharCode(...png.subarray(37, 41)), "PLTE");
  const bare = Uint8Array.of(...png.subarray(0, 33), ...png.subarray(33 + 12 + 6));
  assertEquals(bare[25], 3);
  assertThrows(() => fromPng(bare, 2, 1), plainError(/palette image has no PLTE chunk/));
});

Deno.test("decodeImage() answers undecodable_image for a small PNG with a palette index out of range", async () => {
  const bad = encodePng({
    width: 8,
    height: 8,
    data: new Uint8Array(64).fill(3),
    channels: 1,
    depth: 8,
    palette: [[255, 255, 255], [0, 0, 0]],
  });
  await assertRejects(decodeImage(bad, "pal"), clientError("undecodable_image", /"pal": palette index 3/));
});

Deno.test("fromPng() reads a palette's alpha (tRNS) over white paper, as libvips does", async () => {
  // Opaque entries last: fast-png's encoder writes tRNS for the others only.
  const png = encodePng({
    width: 3,
    height: 1,
    data: Uint8Array.of(0, 1, 2),
    channels: 1,
    depth: 8,
    palette: [[0, 0, 0, 0], [255, 0, 0, 128], [0, 0, 0, 255]],
  });
  const g = fromPng(png, 3, 1);
  // Transparent: white paper; opaque black: 0; red at alpha 128 over white: 0.502 * 0.299 + 0.498.
  assertEquals([g.data[0], g.data[2]], [1, 0]);
  assertClose(g.data[1], (128 / 255) * 0.299 + (1 - 128 / 255), 1e-6, "red at alpha 128");
  const rgba = await sharp(png).ensureAlpha().raw().toBuffer();
  assertEquals(Array.from(rgba), [0, 0, 0, 0, 255, 0, 0, 128, 0, 0, 0, 255]);
});

// --- BMP (shared/bmp.ts) --------------------------------------------------

/** A BMP with the 12-byte BITMAPCOREHEADER (OS/2 1.x): 16-bit sizes, 24-bit BGR rows bottom-up. */
function coreBmp(w: number, h: number, rows: number[][] = []): Uint8Array {
  const stride = Math.ceil((w * 3) / 4) * 4, b = new Uint8Array(26 + stride * rows.length);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(2, b.length, true);
  v.setUint32(10, 26, true);
  v.setUint32(14, 12, true);
  v.setUint16(18, w, true);
  v.setUint16(20, h, true);
  v.setUint16(22, 1, true);
  v.setUint16(24, 24, true);
  rows.forEach((r, i) => b.set(r, 26 + i * stride));
  return b;
}

Deno.test("decodeBmpRgb() reads a BITMAPCOREHEADER BMP, checking its 16-bit size first", () => {
  // Bottom row: red, white; top row: green, blue (BGR order in the file).
  const bmp = coreBmp(2, 2, [[0, 0, 255, 255, 255, 255], [0, 255, 0, 255, 0, 0]]);
  assertEquals(sniffFormat(bmp), "bmp");
  const seen: number[][] = [];
  const rgb = decodeBmpRgb(bmp, (w, h) => seen.push([w, h]));
  assertEquals(seen, [[2, 2]]);
  assertEquals([rgb.width, rgb.height, rgb.channels], [2, 2, 3]);
  assertEquals(Array.from(rgb.data), [0, 255, 0, 0, 0, 255, 255, 0, 0, 255, 255, 255]);
});

Deno.test("decodeImage() refuses a truncated, an oversized and a malformed BMP with their codes", async () => {
  // 12 bytes: enough to be recognised as BMP, too few for any header.
  const stub = Uint8Array.of(0x42, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  await assertRejects(decodeImage(stub, "stub"), clientError("undecodable_image", /BMP header is truncated/));
  // A core header declaring 20000 x 2 (over 16384 a side), and no pixels.
  await assertRejects(decodeImage(coreBmp(20000, 2), "wide"), clientError("image_too_large", /20000x2/));
  // 7 bits per pixel does not exist.
  const odd = coreBmp(2, 2, [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]);
  new DataView(odd.buffer).setUint16(24, 7, true);
  await assertRejects(decodeImage(odd, "bpp7"), clientError("undecodable_image", /bmp data is not valid/));
  // A core BMP decodes through decodeImage too: 2x2 in, 2x2 out, dark where the pixel is black.
  const one = coreBmp(2, 2, [[0, 0, 0, 255, 255, 255], [255, 255, 255, 255, 255, 255]]);
  const g = await decodeImage(one, "core");
  assertEquals([g.width, g.height], [2, 2]);
  assertEquals(Array.from(g.data).map((x) => Math.round(x)), [1, 1, 0, 1]);
});

// --- JPEG without sharp (shared/decode_js.ts) -----------------------------

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
/** A JPEG segment: marker, then its payload with the length in front. */
const segment = (
  marker: number,
  payload: number[],
) => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload];
/** APP1 EXIF with one IFD0 entry (tag, SHORT value); `ifdAt` moves the IFD (8: right after the header). */
function exif(tag: number, value: number, { le = false, ifdAt = 8 } = {}): number[] {
  const u16 = (x: number) => (le ? [x & 255, x >> 8] : [x >> 8, x & 255]);
  const u32 = (
    x: number,
  ) => (le ? [...u16(x & 0xffff), ...u16(x >>> 16)] : [...u16(x >>> 16), ...u16(x & 0xffff)]);
  const tiff = [...ascii(le ? "II" : "MM"), ...u16(42), ...u32(ifdAt)];
  const ifd = [...u16(1), ...u16(tag), ...u16(3), ...u32(1), ...u16(value), 0, 0, ...u32(0)];
  return segment(0xe1, [...ascii("Exif\0\0"), ...tiff, ...ifd]);
}
/** `jpeg` with `extra` bytes right after its SOI marker. */
const after = (jpeg: Uint8Array, ...extra: number[][]) =>
  Uint8Array.of(0xff, 0xd8, ...extra.flat(), ...jpeg.subarray(2));

/** A 16 x 8 JPEG from jpeg-js (JFIF, no EXIF): a dark block in its left half. A copy: jpeg-js gives a Buffer, whose slice() is a view. */
const WIDE = Uint8Array.from(jpg(16, 8, drawn(16, 8, (x) => x < 8), 95));

Deno.test("exifOrientation() finds Orientation past fill bytes and other APP1s, and is 1 for malformed EXIF", () => {
  assertEquals(exifOrientation(WIDE), 1); // no APP1 at all
  assertEquals(exifOrientation(after(WIDE, exif(0x0112, 6))), 6);
  assertEquals(exifOrientation(after(WIDE, exif(0x0112, 3, { le: true }))), 3);
  // A fill byte (0xFF) before the marker, and an XMP APP1 before the EXIF one.
  const xmp = segment(0xe1, ascii("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"));
  assertEquals(exifOrientation(after(WIDE, [0xff], xmp, exif(0x0112, 8))), 8);
  assertEquals(exifOrientation(after(WIDE, exif(0x0112, 9))), 1, "no such orientation");
  assertEquals(exifOrientation(after(WIDE, exif(0x010f, 6))), 1, "no Orientation entry (0x010f is Make)");
  assertEquals(exifOrientation(after(WIDE, exif(0x0112, 6, { ifdAt: 4000 }))), 1, "IFD past the segment");
  // A segment whose length field is 1 ends the walk: nothing after it is read.
  assertEquals(exifOrientation(after(WIDE, [0xff, 0xe0, 0, 1], exif(0x0112, 6))), 1);
});

Deno.test("decodeJs() applies EXIF Orientation 6 read past a fill byte: 16x8 stored, 8x16 upright", () => {
  const g = decodeJs(after(WIDE, [0xff], exif(0x0112, 6)), "jpeg", "turned", L);
  assertEquals([g.width, g.height], [8, 16]);
  // Turned 90 degrees clockwise: the stored left half (dark) is now the top half.
  assert(g.data[0] < 0.3 && g.data[8 * 15 + 7] > 0.8, `top ${g.data[0]}, bottom ${g.data[8 * 15 + 7]}`);
});

Deno.test("decodeJs() refuses a JPEG with no frame header (undecodable_image)", () => {
  const eoi = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9, ...new Array(8).fill(0));
  assertThrows(
    () => decodeJs(eoi, "jpeg", "e", L),
    clientError("undecodable_image", /"e": JPEG has no frame header/),
  );
  // A segment length of 0 stops the walk before the frame header.
  assertThrows(
    () => decodeJs(after(WIDE, [0xff, 0xe0, 0, 0]), "jpeg", "z", L),
    clientError("undecodable_image", /no frame header/),
  );
});

/** Offset of the first `marker` segment (0xFF `marker`) found by walking the segments. */
function markerAt(b: Uint8Array, marker: number): number {
  for (let i = 2; i + 4 <= b.length;) {
    if (b[i + 1] === marker) return i;
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  throw new Error(`no marker ${marker.toString(16)}`);
}

Deno.test("decodeJs() passes jpeg-js's refusals on as Errors, and a frame header that lies about the size", () => {
  // SOF3 (lossless) is a frame header to the size reader, unknown to jpeg-js.
  const sof3 = WIDE.slice();
  sof3[markerAt(sof3, 0xc0) + 1] = 0xc3;
  assertThrows(() => decodeJs(sof3, "jpeg", "l", L), plainError(/unknown JPEG marker/));
  // A DQT whose length says 1 byte of tables but which holds a full 64-entry
  // table: jpeg-js reads the table, the size reader walks by the length and
  // finds, inside the table, a frame header declaring 32x32 for a 16x8 file.
  const fakeSof = [0xff, 0xc0, 0, 11, 8, 0, 32, 0, 32, 1, 1, 0x11, 0];
  const table = [...fakeSof, ...new Array(64 - fakeSof.length).fill(1)];
  const lying = after(WIDE, [0xff, 0xdb, 0, 3, 0, ...table]);
  assertThrows(() => decodeJs(lying, "jpeg", "lie", L), plainError(/frame size changed while decoding/));
});

Deno.test("decodeJs() reads an Adobe (CMYK) JPEG through the colour transform, as sharp reads it", async () => {
  const cmyk = new Uint8Array(await sharp(SEVEN).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer());
  const at = markerAt(cmyk, 0xee);
  assertEquals(String.fromCharCode(...cmyk.subarray(at + 4, at + 9)), "Adobe");
  const ref = toMnist(await decodeImage(SEVEN, "png"), "png");
  const d = meanAbsDiff(toMnist(decodeJs(cmyk, "jpeg", "cmyk", L), "cmyk"), ref);
  assert(d <= 0.03, `CMYK through jpeg-js: mean |difference| ${d.toFixed(4)}`);
});

Deno.test("decodeJs() checks a PNG's declared size, and rawToGray() weighs RGB by Rec. 601", () => {
  assertThrows(
    () => decodeJs(SEVEN, "png", "small", { maxSide: 100, maxPixels: 1e6 }),
    clientError("image_too_large", /160x120/),
  );
  const g = rawToGray({
    width: 3,
    height: 1,
    channels: 3,
    data: Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255),
  });
  for (const [i, k] of [0.299, 0.587, 0.114].entries()) assertClose(g.data[i], k, 1e-6, `channel ${i}`);
  const one = rawToGray({ width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 255) });
  assertEquals(Array.from(one.data), [0, 1]);
});

// --- Header sizes (shared/format.ts, shared/image.ts) ---------------------

Deno.test("declaredSize() reads GIF's little-endian size; checkSize() refuses 0, NaN and each limit", () => {
  const gif = Uint8Array.of(...ascii("GIF89a"), 0x40, 0x01, 0xf0, 0x00, 0, 0, 0, 0);
  assertEquals(sniffFormat(gif), "gif");
  assertEquals(declaredSize(gif, "gif"), [320, 240]);
  assertEquals(declaredSize(gif.subarray(0, 12), "webp"), undefined);
  const limits = { maxSide: 100, maxPixels: 5000 };
  checkSize(100, 50, "ok", limits);
  assertThrows(() => checkSize(0, 5, "z", limits), clientError("undecodable_image", /0x5/));
  assertThrows(() => checkSize(NaN, 5, "n", limits), clientError("undecodable_image"));
  assertThrows(() => checkSize(101, 1, "w", limits), clientError("image_too_large"));
  assertThrows(() => checkSize(1, 101, "h", limits), clientError("image_too_large"));
  assertThrows(() => checkSize(71, 71, "p", limits), clientError("image_too_large"));
});

// Small PNGs (MNIST digits, icons: at most 64x64 pixels) decoded in
// JavaScript with fast-png, synchronously. libvips spends ~1.6 ms on any
// image here, however small; fast-png reads a 28x28 PNG in 0.05 ms. Larger
// PNGs go to sharp.
// Every colour type and bit depth, palette, alpha over white, 16-bit,
// interlaced. No EXIF (a PNG's eXIf chunk): tiny images do not carry one.
import { decode as decodePng } from "fast-png";
import { paperGray } from "./gray.ts";
import type { Gray } from "./image.ts";

/**
 * Decode a PNG whose header declared w x h to luminance (alpha over white).
 * Throws Error on a malformed or truncated file.
 *
 * @example
 * ```ts
 * import { fromPng } from "./png.ts";
 * import { declaredSize } from "./format.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.png", import.meta.url));
 * const [w, h] = declaredSize(bytes, "png")!; // 160x120
 * const gray = fromPng(bytes, w, h);
 * if (gray.data.length !== w * h || gray.data.some((v) => v < 0 || v > 1)) throw new Error("not 0..1 luma");
 * ```
 */
export function fromPng(bytes: Uint8Array, w: number, h: number): Gray {
  const png = decodePng(bytes);
  if (png.width !== w || png.height !== h) throw new Error("IHDR changed while decoding");
  // Colour type 3 (byte 25 of the file) is palette-indexed and needs a PLTE
  // chunk; without one, fast-png would hand back the indices as gray values.
  if (bytes[25] === 3 && !png.palette) throw new Error("palette image has no PLTE chunk");
  const n = w * h, out = new Float32Array(n);
  const depth = png.depth, max = 2 ** depth - 1;
  if (png.palette) {
    const pal = png.palette, idx = unpack(png.data, w, h, 1, depth);
    for (let i = 0; i < n; i++) {
      const c = pal[idx[i]];
      if (!c) throw new Error(`palette index ${idx[i]} is out of range`);
      out[i] = paperGray(c[0] / 255, c[1] / 255, c[2] / 255, c.length > 3 ? c[3] / 255 : 1);
    }
    return { width: w, height: h, data: out };
  }
  const ch = png.channels, v = unpack(png.data, w, h, ch, depth);
  const hasAlpha = ch === 2 || ch === 4;
  for (let i = 0, j = 0; i < n; i++, j += ch) {
    const alpha = hasAlpha ? v[j + ch - 1] / max : 1;
    out[i] = ch >= 3
      ? paperGray(v[j] / max, v[j + 1] / max, v[j + 2] / max, alpha)
      : alpha * (v[j] / max) + (1 - alpha);
  }
  return { width: w, height: h, data: out };
}

/** Samples as one number each; depths below 8 are packed per row by PNG. */
function unpack(data: ArrayLike<number>, w: number, h: number, ch: number, depth: number): ArrayLike<number> {
  if (depth >= 8) {
    // deno-coverage-ignore -- fast-png 8 sizes its output by the IHDR and throws ("Unsupported filter") on missing rows
    if (data.length < w * h * ch) throw new Error("pixel data is truncated");
    return data;
  }
  const per = 8 / depth, stride = Math.ceil((w * ch) / per), mask = (1 << depth) - 1;
  // deno-coverage-ignore -- fast-png 8 sizes its output by the IHDR and throws ("Unsupported filter") on missing rows
  if (data.length < stride * h) throw new Error("pixel data is truncated");
  const out = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w * ch; x++) {
      const byte = data[y * stride + Math.floor(x / per)];
      out[y * w * ch + x] = (byte >> (8 - depth * ((x % per) + 1))) & mask;
    }
  }
  return out;
}

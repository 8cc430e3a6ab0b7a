// BMP -> 8-bit RGB, through bmpimagejs (a port of NetSurf's libnsbmp: 1-32
// bits per pixel, palettes, bit fields, top-down rows, V4/V5 headers).
// libvips as sharp ships it has no BMP reader.
import bmp from "bmpimagejs";
import type { Raw8 } from "./image.ts";

/**
 * Decode a BMP file to RGB (alpha dropped: BMP alpha is rarely meaningful).
 * `check(width, height)` runs on the header's size before any pixel is
 * decoded and may throw to refuse it. Throws Error on a malformed file.
 *
 * @example
 * ```ts
 * import { decodeBmpRgb } from "./bmp.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven-24.bmp", import.meta.url));
 * const rgb = decodeBmpRgb(bytes, (w, h) => {
 *   if (w * h > 1e6) throw new Error("too large");
 * });
 * if (rgb.channels !== 3 || rgb.data.length !== rgb.width * rgb.height * 3) throw new Error("not RGB");
 * ```
 */
export function decodeBmpRgb(bytes: Uint8Array, check: (w: number, h: number) => void): Raw8 {
  if (bytes.length < 26) throw new Error("BMP header is truncated");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // BITMAPCOREHEADER (12 bytes) has 16-bit sizes; every later header 32-bit,
  // with a negative height for top-down rows.
  const core = v.getUint32(14, true) === 12;
  check(
    core ? v.getUint16(18, true) : Math.abs(v.getInt32(18, true)),
    core ? v.getUint16(20, true) : Math.abs(v.getInt32(22, true)),
  );
  const img = bmp.decode(bytes.slice().buffer);
  const n = img.width * img.height, rgb = new Uint8Array(n * 3), p = img.pixels;
  for (let i = 0, j = 0; i < n * 3; i += 3, j += 4) {
    rgb[i] = p[j];
    rgb[i + 1] = p[j + 1];
    rgb[i + 2] = p[j + 2];
  }
  return { width: img.width, height: img.height, channels: 3, data: rgb };
}

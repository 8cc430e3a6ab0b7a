// Colour -> the gray the model sees: Rec. 601 luminance, with alpha
// composited over white paper (a transparent canvas is blank paper). The
// server's decoders and the demo page use this one formula, so both give the
// model the same input.
import type { Gray } from "./image.ts";

/**
 * r, g, b, alpha in 0..1 -> gray 0..1.
 *
 * @example
 * ```ts
 * import { paperGray } from "./gray.ts";
 *
 * if (paperGray(0, 0, 0, 1) !== 0) throw new Error("opaque black is not black");
 * if (paperGray(0, 0, 0, 0) !== 1) throw new Error("transparent is not white paper");
 * if (Math.abs(paperGray(0, 1, 0, 1) - 0.587) > 1e-12) throw new Error("green is not Rec. 601");
 * ```
 */
export function paperGray(r: number, g: number, b: number, alpha: number): number {
  return alpha * (0.299 * r + 0.587 * g + 0.114 * b) + (1 - alpha);
}

/**
 * 8-bit RGBA pixels (canvas ImageData, decoded JPEG) -> Gray: paperGray, inlined (5x faster than calling it).
 *
 * @example
 * ```ts
 * import { rgbaToGray } from "./gray.ts";
 *
 * // Two pixels: opaque black, then fully transparent (blank paper).
 * const gray = rgbaToGray(Uint8ClampedArray.of(0, 0, 0, 255, 0, 0, 0, 0), 2, 1);
 * if (gray.data[0] !== 0 || gray.data[1] !== 1) throw new Error(`got ${gray.data}`);
 * ```
 */
export function rgbaToGray(d: ArrayLike<number>, width: number, height: number): Gray {
  const out = new Float32Array(width * height), k = 1 / (255 * 255);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) {
    const a = d[j + 3];
    out[i] = (a * (0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2]) + (255 - a) * 255) * k;
  }
  return { width, height, data: out };
}

// What a decoded image is, and how large an image the service agrees to
// decode. The decoding itself is shared/decode.ts.
import { ClientError } from "./errors.ts";

/** Luminance image: Float32Array(width*height), 0 = black .. 1 = white. */
export interface Gray {
  width: number;
  height: number;
  data: Float32Array;
}

/** Decoded 8-bit samples, `channels` interleaved per pixel, rows packed. */
export interface Raw8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** How large an image the service agrees to decode, checked on the size its header declares. */
export interface ImageLimits {
  /** Largest width or height accepted. */
  maxSide: number;
  /** Largest width*height accepted. */
  maxPixels: number;
}

/**
 * Phone cameras up to 48 MP (8064x6048) and panoramas up to 16384 px long.
 * JPEGs shrink on load, so their size costs time, not memory.
 *
 * @example
 * ```ts
 * import { checkSize, DEFAULT_IMAGE_LIMITS } from "./image.ts";
 *
 * checkSize(8064, 6048, "photo", DEFAULT_IMAGE_LIMITS); // 48 MP: accepted
 * checkSize(16384, 2000, "panorama", DEFAULT_IMAGE_LIMITS); // 16384 px long: accepted
 * ```
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxSide: 16384, maxPixels: 50_000_000 };

/**
 * Refuse a declared size before anything is decoded: 0 pixels is
 * undecodable_image, more than `limits` is image_too_large (a 109-byte PNG
 * can declare 30000x30000).
 *
 * @example
 * ```ts
 * import { checkSize, DEFAULT_IMAGE_LIMITS } from "./image.ts";
 * import { ClientError } from "./errors.ts";
 *
 * checkSize(640, 480, "a", DEFAULT_IMAGE_LIMITS); // fine: returns nothing
 * try {
 *   checkSize(30000, 30000, "b", DEFAULT_IMAGE_LIMITS);
 *   throw new Error("accepted");
 * } catch (e) {
 *   if (!(e instanceof ClientError) || e.code !== "image_too_large") throw e;
 * }
 * ```
 */
export function checkSize(w: number, h: number, name: string, limits: ImageLimits): void {
  if (!(w > 0 && h > 0)) {
    throw new ClientError("undecodable_image", `Cannot decode image "${name}": it declares ${w}x${h} pixels`);
  }
  if (w > limits.maxSide || h > limits.maxSide || w * h > limits.maxPixels) {
    throw new ClientError(
      "image_too_large",
      `Cannot decode image "${name}": ${w}x${h} exceeds the limit of ${limits.maxSide} per side and ${limits.maxPixels} pixels`,
    );
  }
}

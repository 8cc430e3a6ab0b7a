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

export interface ImageLimits {
  /** Largest width or height accepted. */
  maxSide: number;
  /** Largest width*height accepted. */
  maxPixels: number;
}

/**
 * Phone cameras up to 48 MP (8064x6048) and panoramas up to 16384 px long.
 * JPEGs shrink on load, so their size costs time, not memory.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxSide: 16384, maxPixels: 50_000_000 };

/**
 * Refuse a declared size before anything is decoded: 0 pixels is
 * undecodable_image, more than `limits` is image_too_large (a 109-byte PNG
 * can declare 30000x30000).
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

// EXIF orientation as pixels: what a viewer shows for an image stored with
// Orientation 1-8 (2, 4: mirrored; 3: turned 180; 5, 7: transposed; 6, 8:
// turned 90 clockwise / anticlockwise), and the stored pixels that show a
// given image upright.

/** A w x h image, one sample a pixel, row-major. */
export interface Plane<T extends Uint8Array | Float32Array> {
  data: T;
  width: number;
  height: number;
}

/**
 * The image shown for `img` stored with Orientation `o` (a copy; `img` itself for 1).
 *
 * @example
 * ```ts
 * import { orient } from "./orient.ts";
 *
 * const img = { data: Uint8Array.of(1, 2, 3), width: 3, height: 1 }; // one row: 1 2 3
 * if (orient(img, 2).data.join() !== "3,2,1") throw new Error("2 mirrors left to right");
 * const turned = orient(img, 6); // turned 90 degrees clockwise: one column, 1 at the top
 * if (turned.width !== 1 || turned.height !== 3 || turned.data.join() !== "1,2,3") throw new Error("6");
 * ```
 */
export function orient<T extends Uint8Array | Float32Array>(img: Plane<T>, o: number): Plane<T> {
  if (o === 1) return img;
  const { width: w, height: h, data } = img, swap = o >= 5, W = swap ? h : w, H = swap ? w : h;
  const out = new (data.constructor as new (n: number) => T)(w * h);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // The stored pixel (sx, sy) shown at (x, y).
      const [sx, sy] = o === 2
        ? [w - 1 - x, y]
        : o === 3
        ? [w - 1 - x, h - 1 - y]
        : o === 4
        ? [x, h - 1 - y]
        : o === 5
        ? [y, x]
        : o === 6
        ? [y, h - 1 - x]
        : o === 7
        ? [w - 1 - y, h - 1 - x]
        : [w - 1 - y, x];
      out[y * W + x] = data[sy * w + sx];
    }
  }
  return { data: out, width: W, height: H };
}

/**
 * The pixels to store, with Orientation `o`, so that a viewer shows `img`: 6 and 8 undo each other.
 *
 * @example
 * ```ts
 * import { orient, stored } from "./orient.ts";
 *
 * const img = { data: Float32Array.of(0, 0.5, 1, 0.25), width: 2, height: 2 };
 * for (let o = 1; o <= 8; o++) {
 *   const shown = orient(stored(img, o), o); // what a viewer draws from the stored pixels
 *   if (shown.data.join() !== img.data.join()) throw new Error(`Orientation ${o}`);
 * }
 * ```
 */
export function stored<T extends Uint8Array | Float32Array>(img: Plane<T>, o: number): Plane<T> {
  return orient(img, o === 6 ? 8 : o === 8 ? 6 : o);
}

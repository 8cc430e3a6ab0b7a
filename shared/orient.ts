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

/** The image shown for `img` stored with Orientation `o` (a copy; `img` itself for 1). */
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

/** The pixels to store, with Orientation `o`, so that a viewer shows `img`: 6 and 8 undo each other. */
export function stored<T extends Uint8Array | Float32Array>(img: Plane<T>, o: number): Plane<T> {
  return orient(img, o === 6 ? 8 : o === 8 ? 6 : o);
}

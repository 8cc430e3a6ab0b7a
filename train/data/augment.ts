// On-the-fly augmentation of training images: a random small affine map per
// image (rotation, scale, slant, translation) with bilinear resampling, and
// optionally a random stroke-width change, in place.
import type { Rng } from "../../shared/rng.ts";

export interface Augment {
  /** Max rotation in degrees (uniform +-). */
  rotate: number;
  /** Max relative scale change (uniform 1 +- scale). */
  scale: number;
  /** Max translation in pixels (uniform +-). */
  shift: number;
  /** Max slant (horizontal shear) in degrees (uniform +-); absent: 0. */
  shear?: number;
  /**
   * Share of images whose strokes change width: half of them thickened,
   * half thinned, by mixing in a 3x3 grey dilation or erosion. Absent: 0.
   */
  stroke?: number;
  /** A share of images turned and slanted over wider ranges (degrees) instead. Absent: none. */
  tilt?: { share: number; rotate: number; shear: number };
}

/**
 * Transform each S x S image of `batch` (Float32Array(n*S*S), values 0..1)
 * by its own random affine map about the image centre. Pixels that map from
 * outside the image become 0 (background).
 */
export function augmentBatch(batch: Float32Array, side: number, aug: Augment, rng: Rng): void {
  const px = side * side, n = batch.length / px, c = (side - 1) / 2;
  const src = new Float32Array(px);
  for (let k = 0; k < n; k++) {
    const img = batch.subarray(k * px, (k + 1) * px);
    src.set(img);
    const wide = aug.tilt && rng.next() < aug.tilt.share ? aug.tilt : undefined;
    const th = ((2 * rng.next() - 1) * (wide ?? aug).rotate * Math.PI) / 180;
    const s = 1 + (2 * rng.next() - 1) * aug.scale;
    const tx = (2 * rng.next() - 1) * aug.shift, ty = (2 * rng.next() - 1) * aug.shift;
    const shear = (wide ?? aug).shear;
    const sh = shear ? Math.tan(((2 * rng.next() - 1) * shear * Math.PI) / 180) : 0;
    // Inverse map: output (x, y) samples input Sh(-k) R(-th) ((x, y) - c - t) / s + c.
    const cos = Math.cos(th) / s, sin = Math.sin(th) / s;
    for (let y = 0; y < side; y++) {
      const dy = y - c - ty;
      for (let x = 0; x < side; x++) {
        const dx = x - c - tx;
        const uy = -sin * dx + cos * dy, sx = cos * dx + sin * dy - sh * uy + c, sy = uy + c;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        let v = 0;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < side && y0 + 1 < side) { // all four neighbours inside
          const at = y0 * side + x0;
          v = (1 - fy) * ((1 - fx) * src[at] + fx * src[at + 1]) +
            fy * ((1 - fx) * src[at + side] + fx * src[at + side + 1]);
        } else if (x0 >= -1 && y0 >= -1 && x0 < side && y0 < side) {
          v = (1 - fy) * ((1 - fx) * pixel(src, side, x0, y0) + fx * pixel(src, side, x0 + 1, y0)) +
            fy * ((1 - fx) * pixel(src, side, x0, y0 + 1) + fx * pixel(src, side, x0 + 1, y0 + 1));
        }
        img[y * side + x] = v;
      }
    }
    if (aug.stroke && rng.next() < aug.stroke) restroke(img, side, rng.next() < 0.5 ? 1 : -1, src);
  }
}

/** src at (x, y), 0 outside the image. */
function pixel(src: Float32Array, side: number, x: number, y: number): number {
  return x >= 0 && y >= 0 && x < side && y < side ? src[y * side + x] : 0;
}

/** Mix a 3x3 grey dilation (dir 1) or erosion (dir -1) into img half and half. */
function restroke(img: Float32Array, side: number, dir: 1 | -1, tmp: Float32Array) {
  tmp.set(img);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let m = tmp[y * side + x];
      for (let j = Math.max(0, y - 1); j <= Math.min(side - 1, y + 1); j++) {
        for (let i = Math.max(0, x - 1); i <= Math.min(side - 1, x + 1); i++) {
          const v = tmp[j * side + i];
          m = dir > 0 ? Math.max(m, v) : Math.min(m, v);
        }
      }
      img[y * side + x] = 0.5 * (tmp[y * side + x] + m);
    }
  }
}

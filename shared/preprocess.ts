// Any grayscale image -> the 28x28 input the model was trained on, the way
// MNIST itself was made: ink bright on black, cropped to the ink, scaled to
// fit 20x20 keeping aspect ratio, centred in 28x28 by centre of mass.
// Pure: the edge, the tests and the demo page run this same code.
import { ClientError } from "./errors.ts";
import type { Gray } from "./image.ts";

export const SIDE = 28;
const BOX = 20;
/** Ink must stand this far (0..1) above the background, else the image is blank. */
const MIN_CONTRAST = 0.15;
/** Normalised values below this are background noise (JPEG, paper texture). */
const NOISE = 0.2;

/**
 * MNIST-like input from a luminance image.
 * Returns Float32Array(784), values 0..1, white digit on black.
 * A 28x28 image on a dark background is taken as already MNIST-formatted
 * and passed through unchanged. Throws ClientError("blank_image") when there
 * is no ink.
 *
 * @example
 * ```ts
 * const img = { width: 3, height: 3, data: Float32Array.of(1, 1, 1, 1, 0, 1, 1, 1, 1) };
 * toMnist(img, "a"); // one dark dot on white -> a centred bright blob
 * ```
 */
export function toMnist(img: Gray, name: string): Float32Array {
  const { width: w, height: h } = img;
  const border = borderMedian(img);
  const invert = border > 0.5;
  if (w === SIDE && h === SIDE && !invert) {
    if (max(img.data) - border < MIN_CONTRAST) throw blank(name);
    return Float32Array.from(img.data);
  }
  // Ink value: luminance, or its complement on light paper.
  const src = img.data, sign = invert ? -1 : 1, base = invert ? 1 : 0;
  const bg = invert ? 1 - border : border;
  let peak = -Infinity;
  for (let i = 0; i < src.length; i++) peak = Math.max(peak, base + sign * src[i]);
  if (peak - bg < MIN_CONTRAST) throw blank(name);
  const norm = new Float32Array(src.length), span = peak - bg;
  let x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const v = (base + sign * src[i] - bg) / span;
      if (v < NOISE) continue;
      norm[i] = v > 1 ? 1 : v;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) throw blank(name);
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
  const patch = resampleArea(norm, w, x0, y0, bw, bh, tw, th);
  return centreByMass(patch, tw, th);
}

function blank(name: string) {
  return new ClientError(
    "blank_image",
    `Cannot read a digit in image "${name}": it has no ink (blank or uniform)`,
  );
}

function max(a: Float32Array): number {
  let m = -Infinity;
  for (const v of a) if (v > m) m = v;
  return m;
}

/**
 * Median of the outermost ring (5% of the short side, at least 1 pixel), to
 * 1/1024 resolution by histogram (linear time on large photos).
 */
function borderMedian({ width: w, height: h, data }: Gray): number {
  const m = Math.max(1, Math.floor(Math.min(w, h) * 0.05));
  const bins = new Uint32Array(1025);
  let n = 0;
  const add = (i: number) => {
    bins[Math.round(Math.min(1, Math.max(0, data[i])) * 1024)]++;
    n++;
  };
  for (let y = 0; y < h; y++) {
    if (y < m || y >= h - m) {
      for (let x = 0; x < w; x++) add(y * w + x);
    } else {
      for (let x = 0; x < Math.min(m, w); x++) add(y * w + x);
      for (let x = Math.max(m, w - m); x < w; x++) add(y * w + x);
    }
  }
  for (let b = 0, seen = 0; b < bins.length; b++) {
    seen += bins[b];
    if (seen > n / 2) return b / 1024;
  }
  return 1;
}

/** Area-weighted resampling of the box (x0, y0, bw, bh) of `src` (row width w) to tw x th. */
export function resampleArea(
  src: Float32Array,
  w: number,
  x0: number,
  y0: number,
  bw: number,
  bh: number,
  tw: number,
  th: number,
): Float32Array {
  const out = new Float32Array(tw * th), sx = bw / tw, sy = bh / th;
  for (let oy = 0; oy < th; oy++) {
    const fy0 = oy * sy, fy1 = fy0 + sy;
    for (let ox = 0; ox < tw; ox++) {
      const fx0 = ox * sx, fx1 = fx0 + sx;
      let acc = 0;
      for (let y = Math.floor(fy0); y < Math.min(bh, Math.ceil(fy1)); y++) {
        const wy = Math.min(fy1, y + 1) - Math.max(fy0, y);
        for (let x = Math.floor(fx0); x < Math.min(bw, Math.ceil(fx1)); x++) {
          const wx = Math.min(fx1, x + 1) - Math.max(fx0, x);
          acc += wx * wy * src[(y0 + y) * w + x0 + x];
        }
      }
      out[oy * tw + ox] = acc / (sx * sy);
    }
  }
  return out;
}

/** Place a tw x th patch in 28x28 so its centre of mass sits at the centre. */
export function centreByMass(patch: Float32Array, tw: number, th: number): Float32Array {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = patch[y * tw + x];
      m += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const dx = Math.round(SIDE / 2 - mx / m), dy = Math.round(SIDE / 2 - my / m);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < th; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= SIDE) continue;
    for (let x = 0; x < tw; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < SIDE) out[ty * SIDE + tx] = patch[y * tw + x];
    }
  }
  return out;
}

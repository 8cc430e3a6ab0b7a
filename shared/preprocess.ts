// Any grayscale image -> the 28x28 input the model was trained on, the way
// MNIST itself was made: ink bright on black, cropped to the ink, scaled to
// fit 20x20 keeping aspect ratio, centred in 28x28 by centre of mass.
// Before that, photos and screen drawings are made to look like MNIST's scans:
// large images are read at 320 px, ink is measured against the paper around
// it (uneven light is not ink), noise and specks are dropped, and strokes much
// thinner than MNIST's pen are thickened to its width.
// Deterministic and synchronous (scratch arrays are reused between calls); the
// edge, the tests and the demo page run this same code.
import { ClientError } from "./errors.ts";
import type { Gray } from "./image.ts";

/**
 * The model input's side: MNIST's format, SIDE x SIDE, one channel.
 *
 * @example
 * ```ts
 * import { SIDE } from "./preprocess.ts";
 * import { SEED_MODEL } from "./config.ts";
 *
 * if (SEED_MODEL.inputSize !== SIDE) throw new Error("the model and its preprocessing disagree");
 * ```
 */
export const SIDE = 28;
/**
 * Pixels of one model input.
 *
 * @example
 * ```ts
 * import { PIXELS } from "./preprocess.ts";
 *
 * const pair = new Float32Array(2 * PIXELS); // two model inputs back to back, as a batch holds them
 * if (pair.length !== 1568) throw new Error("not 2 x 28 x 28");
 * ```
 */
export const PIXELS = SIDE * SIDE;
const BOX = 20;
/** Ink must stand this far (0..1) above the background, else the image is blank. */
const MIN_CONTRAST = 0.15;
/** Normalised values below this are background noise (JPEG, paper texture). */
const NOISE = 0.2;
/** Connected ink with less than this share of all the ink's mass is a speck. */
const SPECK = 0.02;
/**
 * Larger images are area-averaged to this longer side first (decodeImage's
 * sharp path and the demo page already shrink to it, never enlarging).
 *
 * @example
 * ```ts
 * import { WORK } from "./preprocess.ts";
 *
 * // The demo page draws a 4032x3024 photo at WORK px a side, as the server's decoder reads it.
 * const scale = Math.min(1, WORK / Math.max(4032, 3024)); // never enlarge
 * if (Math.round(4032 * scale) !== 320 || Math.round(3024 * scale) !== 240) throw new Error("not 320x240");
 * ```
 */
export const WORK = 320;
/** MNIST's pen: stroke width as a fraction of the digit's longer side. */
const PEN = 0.12;
/** Paper level is estimated on a grid of at most GRID x GRID blocks of >= 32 px. */
const GRID = 4;

/**
 * Reusable scratch arrays for the per-pixel steps, grown as needed: a photo
 * would otherwise allocate a handful of image-sized arrays per request.
 * (toMnist is synchronous, so one set per isolate is safe.)
 */
const pool = new Map<string, ArrayBuffer>();
function scratch<T extends Float32Array | Int32Array | Uint8Array>(
  name: string,
  kind: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
  n: number,
): T {
  let b = pool.get(name);
  if (!b || b.byteLength < n * kind.BYTES_PER_ELEMENT) {
    pool.set(name, b = new ArrayBuffer(n * kind.BYTES_PER_ELEMENT));
  }
  return new kind(b, 0, n);
}

/**
 * MNIST-like input from a luminance image.
 * Returns Float32Array(PIXELS), values 0..1, white digit on black.
 * A 28x28 image on a dark background is taken as already MNIST-formatted
 * and passed through unchanged. Throws ClientError("blank_image") when there
 * is no ink.
 *
 * @example
 * ```ts
 * import { PIXELS, SIDE, toMnist } from "./preprocess.ts";
 *
 * const img = { width: 3, height: 3, data: Float32Array.of(1, 1, 1, 1, 0, 1, 1, 1, 1) };
 * const x = toMnist(img, "a"); // one dark dot on white -> a bright 20x20 square centred in 28x28
 * if (x.length !== PIXELS || x[14 * SIDE + 14] !== 1 || x[0] !== 0) throw new Error("not centred");
 * if (x.filter((v) => v === 1).length !== 20 * 20) throw new Error("not scaled into 20x20");
 * const blank = { width: 3, height: 3, data: new Float32Array(9).fill(1) };
 * try {
 *   toMnist(blank, "b");
 *   throw new Error("blank paper accepted");
 * } catch (e) {
 *   if ((e as { code?: string }).code !== "blank_image") throw e;
 * }
 * ```
 */
export function toMnist(img: Gray, name: string): Float32Array {
  if (img.width === SIDE && img.height === SIDE) {
    const border = borderMedian(img);
    if (border <= 0.5) {
      if (max(img.data) - border < MIN_CONTRAST) throw blank(name);
      return Float32Array.from(img.data);
    }
  }
  // Photos are read at no more than WORK px a side: the digit ends up 20 px
  // tall anyway, and every step below is linear in the pixels.
  if (Math.max(img.width, img.height) > WORK) img = shrink(img, WORK);
  const { width: w, height: h } = img;
  const border = borderMedian(img);
  const invert = border > 0.5;
  const ink = inkAbovePaper(img, border, invert);
  const peak = max(ink);
  if (peak < MIN_CONTRAST) throw blank(name);
  // Ink is what stands out both pixel by pixel and, on photos (>= 32 px), in
  // its 3x3 mean: sensor and JPEG noise passes the first test, not the second.
  // (`norm` is written over the mean, which each pixel reads once first.)
  const small = Math.min(w, h) < 32;
  const mean = small ? scratch("mean", Float32Array, ink.length) : boxBlur3(ink, w, h);
  if (small) mean.set(ink);
  const meanPeak = max(mean);
  const norm = mean;
  for (let i = 0; i < ink.length; i++) {
    const v = ink[i] / peak;
    norm[i] = v >= NOISE && mean[i] >= NOISE * meanPeak ? v : 0;
  }
  let [x0, y0, x1, y1] = dropSpecks(norm, w, h);
  if (x1 < 0) throw blank(name);
  // Thicken strokes thinner than MNIST's pen (a mouse, a fine pen) to its width.
  const pen = PEN * Math.max(x1 - x0 + 1, y1 - y0 + 1), width = strokeWidth(norm, w, x0, y0, x1, y1);
  const r = width < pen ? Math.round((pen - width) / 2) : 0;
  if (r > 0) {
    [x0, y0, x1, y1] = [
      Math.max(0, x0 - r),
      Math.max(0, y0 - r),
      Math.min(w - 1, x1 + r),
      Math.min(h - 1, y1 + r),
    ];
    dilate(norm, w, x0, y0, x1, y1, r);
  }
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
  const patch = resampleArea(norm, w, x0, y0, bw, bh, tw, th);
  return centreByMass(patch, tw, th);
}

/**
 * How far each pixel stands out from the paper around it, on the ink side
 * (darker on light paper, lighter on dark): >= 0 where it is inkier. Small
 * images use one paper level (the border's median); larger ones a level per
 * block of a grid (its first quartile; a block much inkier than the median of its
 * 3x3 neighbourhood is covered by thick ink and takes that instead), interpolated
 * bilinearly, so a shadow or a light gradient across a photo is not ink.
 */
function inkAbovePaper({ width: w, height: h, data }: Gray, border: number, invert: boolean): Float32Array {
  const sign = invert ? -1 : 1, out = scratch("ink", Float32Array, w * h);
  const g = Math.min(GRID, Math.floor(Math.min(w, h) / 32));
  if (g < 2) {
    for (let i = 0; i < out.length; i++) out[i] = Math.max(0, sign * (data[i] - border));
    return out;
  }
  // First quartile of sign * value per block (its paper unless ink covers
  // three quarters of it), by a 256-bin histogram.
  const level = new Float32Array(g * g), hist = new Uint32Array(g * g * 256), count = new Uint32Array(g * g);
  const col = Int32Array.from({ length: w }, (_, x) => Math.floor((x * g) / w) * 256);
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * g) / h) * g * 256;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const v = sign * data[i];
      hist[row + col[x] + ((((v > 1 ? 1 : v < -1 ? -1 : v) + 1) * 127.5 + 0.5) | 0)]++;
    }
  }
  for (let b = 0; b < g * g; b++) {
    for (let k = 0; k < 256; k++) count[b] += hist[b * 256 + k];
  }
  for (let b = 0; b < g * g; b++) {
    for (let k = 0, seen = 0; k < 256; k++) {
      seen += hist[b * 256 + k];
      if (seen >= 0.25 * count[b]) {
        level[b] = k / 127.5 - 1;
        break;
      }
    }
  }
  const paper = new Float32Array(g * g), near: number[] = [];
  for (let by = 0; by < g; by++) {
    for (let bx = 0; bx < g; bx++) {
      near.length = 0;
      for (let j = Math.max(0, by - 1); j <= Math.min(g - 1, by + 1); j++) {
        for (let i = Math.max(0, bx - 1); i <= Math.min(g - 1, bx + 1); i++) near.push(level[j * g + i]);
      }
      near.sort((p, q) => p - q);
      // A block much inkier than its neighbours is mostly ink: take theirs.
      const own = level[by * g + bx], med = near[(near.length - 1) >> 1];
      paper[by * g + bx] = own - med > MIN_CONTRAST ? med : own;
    }
  }
  // Bilinear between block centres, extrapolated linearly to the edges: each
  // grid row interpolated across x once, then two of them mixed per image row.
  const lines = new Float32Array(g * w);
  for (let x = 0; x < w; x++) {
    const fx = ((x + 0.5) * g) / w - 0.5, i0 = Math.min(g - 2, Math.max(0, Math.floor(fx))), tx = fx - i0;
    for (let j = 0; j < g; j++) lines[j * w + x] = (1 - tx) * paper[j * g + i0] + tx * paper[j * g + i0 + 1];
  }
  for (let y = 0; y < h; y++) {
    const fy = ((y + 0.5) * g) / h - 0.5, j0 = Math.min(g - 2, Math.max(0, Math.floor(fy))), ty = fy - j0;
    const a = j0 * w, b = a + w;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const v = sign * data[i] - ((1 - ty) * lines[a + x] + ty * lines[b + x]);
      out[i] = v > 0 ? v : 0;
    }
  }
  return out;
}

/** 3x3 mean (edges clamped), separable: rows into `out`, then columns in place with two saved rows. */
function boxBlur3(a: Float32Array, w: number, h: number): Float32Array {
  const out = scratch("mean", Float32Array, a.length), third = 1 / 3;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    out[r] = (2 * a[r] + a[r + 1]) * third;
    for (let i = r + 1; i < r + w - 1; i++) out[i] = (a[i - 1] + a[i] + a[i + 1]) * third;
    out[r + w - 1] = (a[r + w - 2] + 2 * a[r + w - 1]) * third;
  }
  const prev = out.slice(0, w), cur = new Float32Array(w);
  for (let y = 0; y < h; y++) {
    const r = y * w, next = y < h - 1 ? r + w : r;
    cur.set(out.subarray(r, r + w));
    for (let x = 0; x < w; x++) out[r + x] = (prev[x] + cur[x] + out[next + x]) * third;
    prev.set(cur);
  }
  return out;
}

/**
 * Mean stroke width in pixels of the ink (>= 0.5) in the box: twice its
 * area over its boundary length (exact for long strokes; 2 for any stroke of
 * width <= 2).
 */
function strokeWidth(
  a: Float32Array,
  w: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  let area = 0, edge = 0;
  const on = (x: number, y: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1 && a[y * w + x] >= 0.5;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!on(x, y)) continue;
      area++;
      if (!on(x - 1, y) || !on(x + 1, y) || !on(x, y - 1) || !on(x, y + 1)) edge++;
    }
  }
  return edge ? (2 * area) / edge : 0;
}

/**
 * Zero the specks: 8-connected pieces of ink holding less than SPECK of the
 * ink's total mass (noise, dust) so they neither stretch the digit's box
 * nor show in the input. Returns the box of what is left.
 */
function dropSpecks(a: Float32Array, w: number, h: number): [number, number, number, number] {
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) count++;
  const seen = scratch("seen", Uint8Array, a.length).fill(0);
  const stack = scratch("stack", Int32Array, count), members = scratch("members", Int32Array, count);
  const pieces: { start: number; end: number; mass: number }[] = [];
  let total = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    if (seen[i] || a[i] === 0) continue;
    const start = n;
    let top = 0, mass = 0;
    stack[top++] = i;
    seen[i] = 1;
    while (top > 0) {
      const j = stack[--top], x = j % w, y = (j - x) / w;
      members[n++] = j;
      mass += a[j];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy, k = yy * w + xx;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h || seen[k] || a[k] === 0) continue;
          seen[k] = 1;
          stack[top++] = k;
        }
      }
    }
    pieces.push({ start, end: n, mass });
    total += mass;
  }
  let x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (const p of pieces) {
    const keep = p.mass >= SPECK * total;
    for (let m = p.start; m < p.end; m++) {
      const j = members[m];
      if (!keep) {
        a[j] = 0;
        continue;
      }
      const x = j % w, y = (j - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return [x0, y0, x1, y1];
}

/** Grey dilation (max over a (2r+1)^2 square) of the box of `a`, in place, separable. */
function dilate(a: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number, r: number) {
  const line = new Float32Array(Math.max(x1 - x0, y1 - y0) + 1);
  const pass = (n: number, at: (k: number) => number) => {
    for (let k = 0; k < n; k++) line[k] = a[at(k)];
    // Running max over [k - r, k + r] with a monotonic deque of indices.
    const q = new Int32Array(n);
    let head = 0, tail = 0;
    for (let k = 0, next = 0; k < n; k++) {
      for (; next < n && next <= k + r; next++) {
        while (tail > head && line[q[tail - 1]] <= line[next]) tail--;
        q[tail++] = next;
      }
      while (q[head] < k - r) head++;
      a[at(k)] = line[q[head]];
    }
  };
  for (let y = y0; y <= y1; y++) pass(x1 - x0 + 1, (k) => y * w + x0 + k);
  for (let x = x0; x <= x1; x++) pass(y1 - y0 + 1, (k) => (y0 + k) * w + x);
}

/**
 * Area-average `img` so its longer side is `side` px: first by whole f x f
 * blocks (fast; up to f - 1 edge pixels dropped), then, if still larger, by
 * fractional areas.
 */
function shrink(img: Gray, side: number): Gray {
  // Whole blocks only while both sides keep at least one.
  const f = Math.min(Math.floor(Math.max(img.width, img.height) / side), img.width, img.height);
  let { width: w, height: h, data } = img;
  if (f >= 2) {
    const bw = Math.floor(w / f), bh = Math.floor(h / f), out = scratch("blocks", Float32Array, bw * bh);
    out.fill(0);
    for (let y = 0; y < bh * f; y++) {
      const r = (y / f | 0) * bw;
      for (let x = 0, i = y * w; x < bw * f; x++, i++) out[r + (x / f | 0)] += data[i];
    }
    const k = 1 / (f * f);
    for (let i = 0; i < out.length; i++) out[i] *= k;
    [w, h, data] = [bw, bh, out];
  }
  if (Math.max(w, h) <= side) return { width: w, height: h, data };
  const s = side / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * s)), th = Math.max(1, Math.round(h * s));
  return {
    width: tw,
    height: th,
    data: resampleArea(data, w, 0, 0, w, h, tw, th, scratch("shrink", Float32Array, tw * th)),
  };
}

function blank(name: string) {
  return new ClientError(
    "blank_image",
    `Cannot read a digit in image "${name}": it has no ink (blank or uniform)`,
  );
}

function max(a: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
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

/**
 * Area-weighted resampling of the box (x0, y0, bw, bh) of `src` (row width w) to tw x th.
 * Writes into `out` when given; returns it.
 *
 * @example
 * ```ts
 * import { resampleArea } from "./preprocess.ts";
 *
 * const src = Float32Array.of(0, 1, 2, 3, 4, 5); // 3 wide, 2 high
 * const [mean] = resampleArea(src, 3, 1, 0, 2, 2, 1, 1); // the 2x2 box at (1, 0) to one pixel
 * if (mean !== (1 + 2 + 4 + 5) / 4) throw new Error(`got ${mean}`);
 * ```
 */
export function resampleArea(
  src: Float32Array,
  w: number,
  x0: number,
  y0: number,
  bw: number,
  bh: number,
  tw: number,
  th: number,
  out = new Float32Array(tw * th),
): Float32Array {
  const sx = bw / tw, sy = bh / th;
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

/**
 * Place a tw x th patch in SIDE x SIDE so its centre of mass sits at the centre.
 *
 * @example
 * ```ts
 * import { centreByMass, SIDE } from "./preprocess.ts";
 *
 * const out = centreByMass(Float32Array.of(0, 0, 1), 3, 1); // the mass is at the patch's right end
 * if (out.indexOf(1) !== 14 * SIDE + 14) throw new Error(`at ${out.indexOf(1)}`);
 * ```
 */
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
  const out = new Float32Array(PIXELS);
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

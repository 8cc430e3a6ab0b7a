// Pair datasets for the Siamese model, done right: disjoint train/val image
// sets, pairs drawn only within a split, balanced by construction, validation
// and test pairs fixed, each test pair counted once.
import { createRng, type Rng, shuffle } from "../../shared/rng.ts";
import { PIXELS } from "../../shared/preprocess.ts";

/** Pairs as two index arrays into one image set, plus per-pair same-class flag. */
export interface Pairs {
  a: Int32Array;
  b: Int32Array;
  same: Uint8Array;
}

/** One sample as an object (the seed's dict form). */
export interface PairSample {
  img1: Uint8Array;
  img2: Uint8Array;
  class1: number;
  class2: number;
  same: boolean;
}
/** One sample as a tuple: [img1, img2, class1, class2, same]. */
export type PairTuple = [Uint8Array, Uint8Array, number, number, boolean];

/**
 * Split `count` image indices into disjoint train/val sets (seeded shuffle).
 *
 * @example
 * ```ts
 * const { train, val } = splitIndices(10, 0.2, 1); // 8 and 2 indices
 * ```
 */
export function splitIndices(count: number, valFraction: number, seed: number) {
  const all = shuffle(Int32Array.from({ length: count }, (_, i) => i), createRng(seed)) as Int32Array;
  const nVal = Math.round(count * valFraction);
  return { val: all.slice(0, nVal).sort(), train: all.slice(nVal).sort() };
}

function byClass(pool: Int32Array, labels: Uint8Array): Int32Array[] {
  const lists: number[][] = Array.from({ length: 10 }, () => []);
  for (const i of pool) lists[labels[i]].push(i);
  return lists.map((l) => Int32Array.from(l));
}

/**
 * `count` pairs from `pool` only: exactly half same-class (second image drawn
 * from the first's class, never itself), half different-class, shuffled.
 */
export function balancedPairs(
  pool: Int32Array,
  labels: Uint8Array,
  count: number,
  rng: Rng,
): Pairs {
  const classes = byClass(pool, labels);
  const a = new Int32Array(count), b = new Int32Array(count), same = new Uint8Array(count);
  const nSame = count >> 1;
  for (let k = 0; k < count; k++) {
    const i = pool[rng.int(pool.length)];
    let j: number;
    if (k < nSame) {
      const cls = classes[labels[i]];
      do j = cls[rng.int(cls.length)]; while (j === i && cls.length > 1);
    } else {
      do j = pool[rng.int(pool.length)]; while (labels[j] === labels[i]);
    }
    a[k] = i;
    b[k] = j;
    same[k] = k < nSame ? 1 : 0;
  }
  const order = shuffle(Int32Array.from({ length: count }, (_, i) => i), rng) as Int32Array;
  return {
    a: order.map((k) => a[k]),
    b: order.map((k) => b[k]),
    same: Uint8Array.from(order, (k) => same[k]),
  };
}

/** The seed's test protocol: images (0,1), (2,3), ... each pair once. */
export function sequentialPairs(labels: Uint8Array): Pairs {
  const n = labels.length >> 1;
  const a = Int32Array.from({ length: n }, (_, k) => 2 * k);
  const b = a.map((i) => i + 1);
  return { a, b, same: Uint8Array.from(a, (i) => labels[i] === labels[i + 1] ? 1 : 0) };
}

/** Sample `k` of `pairs` as an object. */
export function pairSample(pixels: Uint8Array, labels: Uint8Array, pairs: Pairs, k: number): PairSample {
  const i = pairs.a[k], j = pairs.b[k];
  return {
    img1: pixels.subarray(i * PIXELS, (i + 1) * PIXELS),
    img2: pixels.subarray(j * PIXELS, (j + 1) * PIXELS),
    class1: labels[i],
    class2: labels[j],
    same: pairs.same[k] === 1,
  };
}

/** Sample `k` of `pairs` as a tuple [img1, img2, class1, class2, same]. */
export function pairTuple(pixels: Uint8Array, labels: Uint8Array, pairs: Pairs, k: number): PairTuple {
  const i = pairs.a[k], j = pairs.b[k];
  return [
    pixels.subarray(i * PIXELS, (i + 1) * PIXELS),
    pixels.subarray(j * PIXELS, (j + 1) * PIXELS),
    labels[i],
    labels[j],
    pairs.same[k] === 1,
  ];
}

/**
 * Write pairs [start, start+size) as one tower batch: Float32Array(2*size*PIXELS),
 * first images then second images, values 0..1 (pixel/255, as the seed).
 * `pixels` is uint8 (0..255, MNIST) or already-scaled float32 (0..1).
 */
export function fillBatch(
  pixels: Uint8Array | Float32Array,
  pairs: Pairs,
  start: number,
  size: number,
  out = new Float32Array(2 * size * PIXELS),
): Float32Array {
  const scale = pixels instanceof Float32Array ? 1 : 1 / 255;
  for (let k = 0; k < size; k++) {
    const i = pairs.a[start + k] * PIXELS, j = pairs.b[start + k] * PIXELS;
    const o1 = k * PIXELS, o2 = (size + k) * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      out[o1 + p] = pixels[i + p] * scale;
      out[o2 + p] = pixels[j + p] * scale;
    }
  }
  return out;
}

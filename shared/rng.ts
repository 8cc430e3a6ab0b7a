// Seeded PRNG (sfc32) whose whole state is four uint32s, so a run can be
// checkpointed and resumed bit-for-bit, and tests are deterministic.

/** A seeded random source. `state` round-trips through `createRng`. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box-Muller). */
  normal(): number;
  /** Current state, four uint32 words. */
  state(): [number, number, number, number];
}

/**
 * Create a PRNG from an integer seed or a saved state.
 *
 * @example
 * ```ts
 * import { createRng } from "./rng.ts";
 *
 * const a = createRng(7), b = createRng(7);
 * if (a.next() !== b.next()) throw new Error("not deterministic");
 * const resumed = createRng(a.state()); // a checkpoint: the saved state goes on where `a` is
 * if (resumed.int(1000) !== a.int(1000)) throw new Error("state does not round-trip");
 * ```
 */
export function createRng(seed: number | readonly number[]): Rng {
  let a: number, b: number, c: number, d: number;
  if (typeof seed === "number") {
    a = 0x9e3779b9;
    b = 0x243f6a88;
    c = 0xb7e15162;
    d = seed >>> 0;
    for (let i = 0; i < 15; i++) step();
  } else {
    [a, b, c, d] = seed.map((x) => x >>> 0);
  }
  function step(): number {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  }
  const next = () => step() / 4294967296;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0],
  };
}

/**
 * Fisher-Yates shuffle in place; returns `xs`.
 *
 * @example
 * ```ts
 * import { createRng, shuffle } from "./rng.ts";
 *
 * const order = shuffle([0, 1, 2, 3, 4, 5], createRng(1));
 * if (order.join() !== shuffle([0, 1, 2, 3, 4, 5], createRng(1)).join()) throw new Error("not seeded");
 * if ([...order].sort().join() !== "0,1,2,3,4,5") throw new Error("not a permutation");
 * ```
 */
export function shuffle<T>(xs: T[] | Int32Array, rng: Rng): typeof xs {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

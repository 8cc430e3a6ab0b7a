// Gradient exchange between data-parallel replicas through shared memory:
// each replica writes its gradients, BN statistics, loss and share weight to
// its own slot, waits at a barrier for the others, then every replica forms
// the same weighted mean (same order, same arithmetic, so replicas stay
// identical) and applies it itself. The main thread only hands out batches.
import type { ModelConfig } from "../shared/config.ts";
import { paramSpecs } from "../shared/params.ts";

/** How long a replica waits at the barrier before giving up (a sibling died). */
const BARRIER_TIMEOUT_MS = 120_000;

export interface ExchangeLayout {
  replicas: number;
  /** Gradient floats per replica (trainable parameters). */
  grads: number;
  /** BN statistic floats per replica (mean and variance of each BN layer). */
  stats: number;
}

export function exchangeLayout(config: ModelConfig, replicas: number): ExchangeLayout {
  const specs = paramSpecs(config);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const grads = specs.filter((s) => s.trainable).reduce((a, s) => a + size(s.shape), 0);
  const stats = 2 *
    specs.filter((s) => s.name.endsWith("/moving_mean")).reduce((a, s) => a + size(s.shape), 0);
  return { replicas, grads, stats };
}

const CTRL_BYTES = 16, META = 2; // per replica: weight, loss (float64)

export function exchangeBytes(l: ExchangeLayout): number {
  return CTRL_BYTES + 8 * META * l.replicas + 4 * l.replicas * (l.grads + l.stats);
}

/** One replica's view of the shared buffer. */
export class Exchange {
  private readonly ctrl: Int32Array;
  private readonly meta: Float64Array;
  private readonly grads: Float32Array;
  private readonly stats: Float32Array;
  /** The weighted means, rewritten by every exchange. */
  private readonly mean: { grads: Float32Array; stats: Float32Array };

  constructor(buffer: SharedArrayBuffer, private readonly l: ExchangeLayout, private readonly rank: number) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.meta = new Float64Array(buffer, CTRL_BYTES, META * l.replicas);
    const at = CTRL_BYTES + 8 * META * l.replicas;
    this.grads = new Float32Array(buffer, at, l.replicas * l.grads);
    this.stats = new Float32Array(buffer, at + 4 * l.replicas * l.grads, l.replicas * l.stats);
    this.mean = { grads: new Float32Array(l.grads), stats: new Float32Array(l.stats) };
  }

  /**
   * Publish this replica's results (or its failure), wait for every replica,
   * and return the weighted means (arrays reused by the next exchange).
   * Throws if any replica failed.
   */
  exchange(
    mine: { grads: Float32Array; stats: Float32Array; loss: number } | Error,
    weight: number,
  ): { grads: Float32Array; stats: Float32Array; loss: number } {
    const { replicas: n, grads: G, stats: S } = this.l, k = this.rank;
    if (mine instanceof Error) Atomics.store(this.ctrl, 2, 1);
    else {
      if (mine.grads.length !== G || mine.stats.length !== S) {
        throw new Error("Exchange: unexpected gradient size");
      }
      this.grads.set(mine.grads, k * G);
      this.stats.set(mine.stats, k * S);
      this.meta[META * k] = weight;
      this.meta[META * k + 1] = mine.loss;
    }
    this.barrier();
    if (mine instanceof Error) throw mine;
    if (Atomics.load(this.ctrl, 2)) throw new Error("Another training replica failed");
    const { grads, stats } = this.mean;
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const w = this.meta[META * r];
      loss += w * this.meta[META * r + 1];
      accumulate(grads, this.grads.subarray(r * G, (r + 1) * G), w, r === 0);
      accumulate(stats, this.stats.subarray(r * S, (r + 1) * S), w, r === 0);
    }
    return { grads, stats, loss };
  }

  /** Sense-reversing barrier over ctrl[0] (arrivals) and ctrl[1] (generation). */
  private barrier() {
    const gen = Atomics.load(this.ctrl, 1);
    if (Atomics.add(this.ctrl, 0, 1) === this.l.replicas - 1) {
      Atomics.store(this.ctrl, 0, 0);
      Atomics.add(this.ctrl, 1, 1);
      Atomics.notify(this.ctrl, 1);
      return;
    }
    const deadline = performance.now() + BARRIER_TIMEOUT_MS;
    while (Atomics.load(this.ctrl, 1) === gen) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.ctrl, 1, gen, left) === "timed-out") {
        throw new Error(`Training replica ${this.rank}: no other replica reached the exchange in time`);
      }
    }
  }
}

/** into = (first ? 0 : into) + w * from, in place. */
function accumulate(into: Float32Array, from: Float32Array, w: number, first: boolean) {
  const n = into.length;
  if (first) { for (let i = 0; i < n; i++) into[i] = w * from[i]; }
  else for (let i = 0; i < n; i++) into[i] += w * from[i];
}

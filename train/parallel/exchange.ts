// Gradient exchange between data-parallel replicas through shared memory:
// each replica writes its gradients, BN statistics, loss and share weight to
// its own slot, waits at a barrier for the others, then every replica forms
// the same weighted mean (same order, same arithmetic, so replicas stay
// identical) and applies it itself. The main thread only hands out batches.
// Slots are double-buffered by step parity: a replica that is done reading
// step k may write step k+1 while a slower one still reads step k, and it
// cannot reach step k+2 before that one has passed the barrier of k+1.
import type { ModelConfig } from "../../shared/config.ts";
import { paramSpecs, trainableCount } from "../../shared/params.ts";

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
  const channels = paramSpecs(config).filter((s) => s.name.endsWith("/moving_mean")).reduce(
    (a, s) => a + s.shape[0],
    0,
  );
  return { replicas, grads: trainableCount(config), stats: 2 * channels };
}

const CTRL_BYTES = 16, META = 2; // per replica: weight, loss (float64)

/** One parity's slots: meta, gradients and statistics of every replica. */
function slotBytes(l: ExchangeLayout): number {
  return 8 * META * l.replicas + 4 * l.replicas * (l.grads + l.stats);
}

export function exchangeBytes(l: ExchangeLayout): number {
  return CTRL_BYTES + 2 * slotBytes(l);
}

/** One replica's view of the shared buffer. */
export class Exchange {
  private readonly ctrl: Int32Array;
  /** Slots by step parity. */
  private readonly slots: { meta: Float64Array; grads: Float32Array; stats: Float32Array }[];
  /** The statistics' weighted mean, rewritten by every exchange. */
  private readonly meanStats: Float32Array;
  private step = 0;

  constructor(buffer: SharedArrayBuffer, private readonly l: ExchangeLayout, private readonly rank: number) {
    this.ctrl = new Int32Array(buffer, 0, 4);
    this.slots = [0, 1].map((parity) => {
      const at = CTRL_BYTES + parity * slotBytes(l), g = at + 8 * META * l.replicas;
      return {
        meta: new Float64Array(buffer, at, META * l.replicas),
        grads: new Float32Array(buffer, g, l.replicas * l.grads),
        stats: new Float32Array(buffer, g + 4 * l.replicas * l.grads, l.replicas * l.stats),
      };
    });
    this.meanStats = new Float32Array(l.stats);
  }

  /** Gradient floats per replica (every trainable parameter). */
  get gradients(): number {
    return this.l.grads;
  }

  /**
   * Publish this replica's results (or its failure), wait for every replica,
   * and write the weighted mean of the gradients into `into` (pieces that
   * together hold every gradient, in order, e.g. views of the tensors the
   * update reads); returns the mean of the statistics (an array reused by the
   * next exchange) and of the loss. The gradients come in pieces too (e.g.
   * views of each gradient tensor's data), so nothing is copied but into
   * this replica's slot and out of the slots. Throws if any replica failed.
   */
  exchange(
    mine: { grads: Float32Array[]; stats: Float32Array; loss: number } | Error,
    weight: number,
    into: Float32Array[],
  ): { stats: Float32Array; loss: number } {
    const { replicas: n, grads: G, stats: S } = this.l, k = this.rank;
    const slot = this.slots[this.step++ & 1];
    if (mine instanceof Error) Atomics.store(this.ctrl, 2, 1);
    else {
      if (total(mine.grads) !== G || total(into) !== G || mine.stats.length !== S) {
        throw new Error("Exchange: unexpected gradient size");
      }
      let o = k * G;
      for (const g of mine.grads) {
        slot.grads.set(g, o);
        o += g.length;
      }
      slot.stats.set(mine.stats, k * S);
      slot.meta[META * k] = weight;
      slot.meta[META * k + 1] = mine.loss;
    }
    this.barrier();
    if (mine instanceof Error) throw mine;
    if (Atomics.load(this.ctrl, 2)) throw new Error("Another training replica failed");
    const stats = this.meanStats;
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const w = slot.meta[META * r];
      loss += w * slot.meta[META * r + 1];
      let o = r * G;
      for (const piece of into) {
        accumulate(piece, slot.grads.subarray(o, o + piece.length), w, r === 0);
        o += piece.length;
      }
      accumulate(stats, slot.stats.subarray(r * S, (r + 1) * S), w, r === 0);
    }
    return { stats, loss };
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

const total = (pieces: Float32Array[]) => pieces.reduce((a, p) => a + p.length, 0);

/** into = (first ? 0 : into) + w * from, in place. */
function accumulate(into: Float32Array, from: Float32Array, w: number, first: boolean) {
  const n = into.length;
  if (first) { for (let i = 0; i < n; i++) into[i] = w * from[i]; }
  else for (let i = 0; i < n; i++) into[i] += w * from[i];
}

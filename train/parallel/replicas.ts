// Step runners: one in-process trainer, or N worker replicas doing
// synchronous data-parallel SGD (each computes gradients on B/N pairs; their
// mean is applied by every replica). The loop sees the same interface.
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import type { BackendName } from "../../shared/backend.ts";
import {
  createTrainer,
  disposeTrainer,
  type OptimizerState,
  readOptimizerState,
  readParams,
  trainStep,
  writeOptimizerState,
} from "../step.ts";
import type { Request } from "./worker.ts";
import type { Pairs } from "../data/pairs.ts";
import { scorePairs } from "../eval/evaluate.ts";
import { exchangeBytes, exchangeLayout } from "./exchange.ts";

export interface StepRunner {
  /**
   * Pairs [0, B) of a batch laid out by fillBatch, at learning rate `lr`,
   * with the images' digits in batch order when the loss has a digit term;
   * returns the mean loss.
   */
  step(batch: Float32Array, same: Float32Array, lr?: number, digits?: Int32Array): Promise<number>;
  readParams(): Promise<ParamMap>;
  /** Logits of the current weights (inference mode) for pairs of the training images. */
  score(pairs: Pairs): Promise<Float32Array>;
  /** Weights and optimizer state, for a checkpoint. */
  state(): Promise<TrainerState>;
  close(): void;
}

/** Weights plus optimizer state: what a checkpoint needs from a runner. */
export interface TrainerState {
  params: ParamMap;
  optimizer: OptimizerState;
}

/**
 * Run steps 1..n with two in flight: `start(s)` issues step s (runner.step
 * copies its batch out before it awaits, so `start` may then prepare the next
 * batch), and step s is queued at the replicas before step s-1's loss comes
 * back, so they never wait on this thread. `done(s, loss)` sees the losses in
 * order; the first failure is thrown after every issued step has settled.
 */
export async function stepsInFlight(
  n: number,
  start: (step: number) => Promise<number>,
  done: (step: number, loss: number) => void = () => {},
): Promise<void> {
  const inFlight: Promise<number>[] = [];
  try {
    for (let s = 1; s <= n; s++) {
      const step = start(s);
      step.catch(() => {}); // handled here; awaited below (or settled in finally)
      inFlight.push(step);
      if (inFlight.length === 2) done(s - 1, await inFlight.shift()!);
    }
    if (inFlight.length) done(n, await inFlight.shift()!);
  } finally {
    await Promise.allSettled(inFlight); // a step issued behind a failed one still finishes first
  }
}

/** Train in this thread; `pixels` are the images that `score` pairs index. */
export async function localRunner(
  params: ParamMap,
  config: ModelConfig,
  lr: number,
  pixels: Uint8Array,
  optimizer?: OptimizerState,
  digitLoss = 0,
): Promise<StepRunner> {
  const t = createTrainer(params, config, lr, digitLoss);
  if (optimizer) await writeOptimizerState(t, optimizer);
  return {
    state: async () => ({ params: readParams(t), optimizer: await readOptimizerState(t) }),
    step: (batch, same, lr, digits) => Promise.resolve(trainStep(t, batch, same, lr, digits)),
    readParams: () => Promise.resolve(readParams(t)),
    score: (pairs) => Promise.resolve(scorePairs(readParams(t), config, pixels, pairs)),
    close: () => disposeTrainer(t),
  };
}

interface Reply {
  ok: boolean;
  error?: string;
  loss?: number;
  params?: ParamMap;
  logits?: Float32Array;
  state?: TrainerState;
}

class Replica {
  #w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  #waiting: ((r: Reply) => void)[] = [];
  #failed?: Error;
  constructor() {
    this.#w.onmessage = (e: MessageEvent<Reply>) => this.#waiting.shift()?.(e.data);
    this.#w.onerror = (e) => {
      e.preventDefault();
      this.#failed = new Error(`Training worker crashed: ${e.message}`);
      this.#waiting.splice(0).forEach((f) => f({ ok: false, error: this.#failed!.message }));
    };
  }
  async call(m: Request, transfer: Transferable[] = []): Promise<Reply> {
    if (this.#failed) throw this.#failed;
    const reply = new Promise<Reply>((resolve) => this.#waiting.push(resolve));
    this.#w.postMessage(m, transfer);
    const r = await reply;
    if (!r.ok) throw new Error(`Training worker failed: ${r.error}`);
    return r;
  }
  terminate() {
    this.#w.terminate();
  }
}

/** Split the batch of B pairs into n contiguous shares (first/second sides kept apart). */
function share(
  batch: Float32Array,
  same: Float32Array,
  digits: Int32Array | undefined,
  k: number,
  n: number,
) {
  const b = same.length, px = batch.length / (2 * b);
  const lo = Math.round((k * b) / n), hi = Math.round(((k + 1) * b) / n), h = hi - lo;
  const out = new Float32Array(2 * h * px);
  out.set(batch.subarray(lo * px, hi * px), 0);
  out.set(batch.subarray((b + lo) * px, (b + hi) * px), h * px);
  let d: Int32Array | undefined;
  if (digits) {
    d = new Int32Array(2 * h);
    d.set(digits.subarray(lo, hi), 0);
    d.set(digits.subarray(b + lo, b + hi), h);
  }
  return { batch: out, same: same.slice(lo, hi), digits: d, weight: h / b };
}

/** `n` worker replicas (n >= 2). */
export async function workerRunner(
  n: number,
  params: ParamMap,
  config: ModelConfig,
  lr: number,
  backend: BackendName,
  pixels: Uint8Array,
  optimizer?: OptimizerState,
  digitLoss = 0,
): Promise<StepRunner> {
  const reps = Array.from({ length: n }, () => new Replica());
  try {
    await Promise.all(
      reps.map((r) =>
        r.call({ type: "init", params, config, lr, digitLoss, backend: backend as "wasm", pixels, optimizer })
      ),
    );
  } catch (e) {
    reps.forEach((r) => r.terminate());
    throw e;
  }
  // Gradients meet in shared memory (exchange.ts): a step is one message
  // to each replica and one small reply.
  const layout = exchangeLayout(config, n), buffer = new SharedArrayBuffer(exchangeBytes(layout));
  await Promise.all(reps.map((r, rank) => r.call({ type: "exchange", buffer, layout, rank })));
  return {
    async step(batch, same, lr, digits) {
      const images = (2 * same.length) / n;
      const replies = await Promise.all(
        reps.map((r, k) => {
          const { batch: b, same: s, digits: d, weight } = share(batch, same, digits, k, n);
          return r.call({ type: "step", batch: b, same: s, digits: d, weight, images, lr }, [b.buffer]);
        }),
      );
      return replies[0].loss!;
    },
    async readParams() {
      return (await reps[0].call({ type: "read" })).params!;
    },
    async state() {
      return (await reps[0].call({ type: "state" })).state!;
    },
    async score(pairs) {
      // Replicas hold identical weights: each scores a contiguous share.
      const cut = (k: number) => Math.round((k * pairs.a.length) / n);
      const parts = await Promise.all(reps.map((r, k) => {
        const [lo, hi] = [cut(k), cut(k + 1)];
        const share = { a: pairs.a.slice(lo, hi), b: pairs.b.slice(lo, hi), same: pairs.same.slice(lo, hi) };
        return r.call({ type: "score", pairs: share });
      }));
      const out = new Float32Array(pairs.a.length);
      parts.forEach((p, k) => out.set(p.logits!, cut(k)));
      return out;
    },
    close: () => reps.forEach((r) => r.terminate()),
  };
}

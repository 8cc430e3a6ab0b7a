// The training loop: seeded splits and pairs, epochs of Adam steps, a fixed
// validation set scored after each epoch. No I/O: progress goes to hooks.
import type { ModelConfig } from "../shared/config.ts";
import { initParams, type ParamMap } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import type { Split } from "./data/idx.ts";
import { balancedPairs, fillBatch, type Pairs, splitIndices } from "./data/pairs.ts";
import { localRunner, type StepRunner, stepsInFlight, workerRunner } from "./parallel/replicas.ts";
import type { BackendName } from "../shared/backend.ts";
import { augmentBatch } from "./data/augment.ts";
import type { Recipe } from "./recipes.ts";
import type { Checkpoint } from "./checkpoint.ts";
import type { Progress } from "./summary.ts";
import { bceWithLogits } from "./eval/evaluate.ts";
import { confusion, rocAuc, summarize } from "./eval/metrics.ts";
import { sigmoid } from "../shared/model.ts";

/** A recipe (train/recipes.ts) plus what a run needs besides. */
export interface TrainOptions extends Omit<Recipe, "tower" | "backend" | "thresholdRule"> {
  model: ModelConfig;
  seed: number;
  /** Fraction of the training images held out for validation. */
  valFraction: number;
  /** Validation pairs (balanced, fixed by seed). */
  valPairs: number;
}

export interface EpochStats {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  precision: number;
  recall: number;
  accuracy: number;
  auc: number;
  seconds: number;
  pairsPerSecond: number;
}

export interface Hooks {
  /** Called after each epoch with a checkpoint; awaited before training goes on. */
  onCheckpoint?(c: Checkpoint): Promise<void> | void;
  onStep?(s: Progress): void;
  onEpoch?(e: EpochStats): void;
  now?(): number;
}

export interface TrainResult {
  params: ParamMap;
  epochs: EpochStats[];
  stepLosses: number[];
  split: { train: Int32Array; val: Int32Array };
  valPairs: Pairs;
  seconds: number;
}

/** Learning rate at global step `k` (0-based) of the schedule. */
export function learningRate(o: TrainOptions, k: number): number {
  if (o.lrSchedule === "constant") return o.lr;
  const total = o.epochs * o.stepsPerEpoch;
  return o.lr * 0.5 * (1 + Math.cos((Math.PI * k) / total));
}

/**
 * Train from scratch on `train` (the 60k official training images), on the
 * active backend (`backend` is what worker replicas initialise).
 */
export async function train(
  opts: TrainOptions,
  data: Split,
  hooks: Hooks = {},
  backend: BackendName = "wasm",
  resume?: Checkpoint,
): Promise<TrainResult> {
  const now = hooks.now ?? (() => performance.now() / 1000);
  const { labels } = data, pixels = data.images.pixels, { rows, cols } = data.images;
  if (rows !== opts.model.inputSize || cols !== opts.model.inputSize) {
    throw new Error(
      `images are ${rows}x${cols}, the model's input is ${opts.model.inputSize}x${opts.model.inputSize}`,
    );
  }
  const split = splitIndices(labels.length, opts.valFraction, opts.seed);
  const valPairs = balancedPairs(split.val, labels, opts.valPairs, createRng(opts.seed ^ 0x7a1));
  const rng = createRng(resume ? resume.rng : opts.seed);
  const init = resume ? resume.params : initParams(opts.model, rng);
  const runner: StepRunner = opts.workers > 1
    ? await workerRunner(
      opts.workers,
      init,
      opts.model,
      opts.lr,
      backend,
      pixels,
      resume?.optimizer,
      opts.digitLoss,
    )
    : await localRunner(init, opts.model, opts.lr, pixels, resume?.optimizer, opts.digitLoss);
  const B = opts.batchSize, steps = opts.stepsPerEpoch;
  const batch = new Float32Array(2 * B * rows * cols), same = new Float32Array(B);
  const digits = opts.digitLoss > 0 ? new Int32Array(2 * B) : undefined;
  const epochs: EpochStats[] = resume?.epochs ?? [], stepLosses: number[] = resume?.stepLosses ?? [];
  const start = now() - (resume?.seconds ?? 0);
  try {
    for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= opts.epochs; epoch++) {
      const pairs = balancedPairs(split.train, labels, steps * B, rng);
      const t0 = now();
      let sum = 0;
      const fill = (step: number) => {
        const off = (step - 1) * B;
        fillBatch(pixels, pairs, off, B, batch);
        if (opts.augment) augmentBatch(batch, opts.model.inputSize, opts.augment, rng);
        for (let k = 0; k < B; k++) same[k] = pairs.same[off + k];
        if (digits) {
          for (let k = 0; k < B; k++) {
            digits[k] = labels[pairs.a[off + k]];
            digits[B + k] = labels[pairs.b[off + k]];
          }
        }
      };
      const record = (step: number, loss: number) => {
        stepLosses.push(loss);
        sum += loss;
        const rate = (step * B) / (now() - t0);
        const left = (opts.epochs - epoch) * steps + (steps - step);
        hooks.onStep?.({ epoch, step, loss, pairsPerSecond: rate, etaSeconds: (left * B) / rate });
      };
      fill(1);
      await stepsInFlight(steps, (step) => {
        const pending = runner.step(batch, same, learningRate(opts, (epoch - 1) * steps + step - 1), digits);
        if (step < steps) fill(step + 1);
        return pending;
      }, record);
      const seconds = now() - t0;
      const logits = await runner.score(valPairs);
      const m = summarize(confusion(logits.map(sigmoid), valPairs.same, 0.5));
      const e: EpochStats = {
        epoch,
        trainLoss: sum / steps,
        valLoss: bceWithLogits(logits, valPairs.same),
        precision: m.precision,
        recall: m.recall,
        accuracy: m.accuracy,
        auc: rocAuc(logits, valPairs.same),
        seconds,
        pairsPerSecond: (steps * B) / seconds,
      };
      epochs.push(e);
      hooks.onEpoch?.(e);
      if (hooks.onCheckpoint) {
        const { params, optimizer } = await runner.state();
        await hooks.onCheckpoint({
          epoch,
          rng: rng.state(),
          options: opts,
          epochs,
          stepLosses,
          seconds: now() - start,
          params,
          optimizer,
        });
      }
    }
    return { params: await runner.readParams(), epochs, stepLosses, split, valPairs, seconds: now() - start };
  } finally {
    runner.close();
  }
}

// `forward` on TF.js core ops. Batch norm is the caller's choice: folded into
// the weights (the default: fused conv/matMul with bias and ReLU, which stock
// TF.js runs fastest, as the page does in the browser), running statistics
// (`movingStatistics`), or training's batch statistics (train/step.ts).
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.ts";
import { type Executor, forward, tower } from "./model.ts";
import type { ParamMap } from "./params.ts";

/**
 * relu(BN(x + bias)) for the batch norm `bn` after a layer whose bias is
 * `bias`, max-pooled 2x2/2 when `pool` is set.
 */
export type Norm = (x: tf.Tensor, bn: string, bias: tf.Tensor, pool: boolean) => tf.Tensor;

/** How tfExecutor and pairLogits treat batch norm and the head. */
export interface TfOptions {
  /** Batch norm; absent: the weights are folded (`foldBatchNorm`). */
  norm?: Norm;
  /**
   * Score with the mean of head/kernel in every entry (training ties those
   * weights on digit probabilities, so that they stay equal).
   */
  tieHead?: boolean;
}

/**
 * The Executor of TF.js tensors over weights `w` (by parameter name).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createTfModel, tfExecutor } from "./model_tf.ts";
 * import { foldBatchNorm, forward } from "./model.ts";
 * import { useBackend } from "./backend.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * await useBackend("wasm");
 * const m = createTfModel(foldBatchNorm(initParams(SEED_MODEL, createRng(1)), SEED_MODEL), SEED_MODEL);
 * const { logits } = forward(tfExecutor(m.w), SEED_MODEL, tf.zeros([4, 28, 28, 1])); // 2 pairs
 * if (logits.shape.join() !== "2") throw new Error(`shape ${logits.shape}`);
 * m.dispose();
 * ```
 */
export function tfExecutor(w: Record<string, tf.Tensor>, opts: TfOptions = {}): Executor<tf.Tensor> {
  const { norm, tieHead } = opts;
  const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid");
  return {
    convBlock(x, conv, bn) {
      const filter = w[`${conv}/kernel`] as tf.Tensor4D, bias = w[`${conv}/bias`];
      if (norm) return norm(tf.conv2d(x as tf.Tensor4D, filter, 1, "same"), bn, bias, true);
      return pool(
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides: 1, pad: "same", bias, activation: "relu" }),
      );
    },
    denseBlock(x, dense, bn) {
      const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      const b = w[`${dense}/kernel`] as tf.Tensor2D, bias = w[`${dense}/bias`];
      if (norm) return norm(tf.matMul(flat, b), bn, bias, false);
      return tf.fused.matMul({ a: flat, b, bias, activation: "relu" });
    },
    dense: (x, dense) =>
      tf.fused.matMul({
        a: x as tf.Tensor2D,
        b: w[`${dense}/kernel`] as tf.Tensor2D,
        bias: w[`${dense}/bias`],
      }),
    softmax: (x) => tf.softmax(x),
    head(e) {
      const [e1, e2] = tf.split(e, 2, 0);
      const k = w["head/kernel"];
      const kernel = tieHead ? tf.mul(tf.onesLike(k), tf.mean(k)) : k;
      const z = tf.fused.matMul({
        a: tf.abs(tf.sub(e1, e2)) as tf.Tensor2D,
        b: kernel as tf.Tensor2D,
        bias: w["head/bias"],
      });
      return tf.reshape(z, [-1]);
    },
  };
}

/**
 * Batch norm with the running statistics in `w` (inference mode, unfolded).
 *
 * @example
 * ```ts
 * import { createTfModel, movingStatistics, pairLogits } from "./model_tf.ts";
 * import { foldBatchNorm } from "./model.ts";
 * import { useBackend } from "./backend.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * await useBackend("wasm");
 * const params = initParams(SEED_MODEL, createRng(1)), rng = createRng(2);
 * const batch = Float32Array.from({ length: 4 * 28 * 28 }, () => rng.next()); // 2 pairs of noise
 * const raw = createTfModel(params, SEED_MODEL);
 * const folded = createTfModel(foldBatchNorm(params, SEED_MODEL), SEED_MODEL);
 * const a = pairLogits(raw, batch, { norm: movingStatistics(raw.w, SEED_MODEL.bnEpsilon) });
 * const b = pairLogits(folded, batch); // folding batch norm into the weights does not change the model
 * if (a.some((z, i) => Math.abs(z - b[i]) > 1e-5)) throw new Error(`${a} vs ${b}`);
 * ```
 */
export function movingStatistics(w: Record<string, tf.Tensor>, eps: number): Norm {
  return (x, bn, bias, pool) => {
    const y = tf.relu(
      tf.batchNorm(
        tf.add(x, bias),
        w[`${bn}/moving_mean`],
        w[`${bn}/moving_variance`],
        w[`${bn}/beta`],
        w[`${bn}/gamma`],
        eps,
      ),
    );
    return pool ? tf.maxPool(y as tf.Tensor4D, 2, 2, "valid") : y;
  };
}

/** Parameters as tensors on the active backend, with a dispose. */
export interface TfModel {
  /** The architecture the parameters are for. */
  config: ModelConfig;
  /** One tensor per parameter, by name ("conv1/kernel", ...). */
  w: Record<string, tf.Tensor>;
  /** Free every tensor in `w`. */
  dispose(): void;
}

/**
 * Upload parameters (folded or not) to the active backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createTfModel } from "./model_tf.ts";
 * import { useBackend } from "./backend.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * await useBackend("wasm");
 * const before = tf.memory().numTensors, params = initParams(SEED_MODEL, createRng(1));
 * const m = createTfModel(params, SEED_MODEL); // one tensor per parameter
 * if (tf.memory().numTensors - before !== Object.keys(params).length) throw new Error("one per parameter");
 * m.dispose();
 * if (tf.memory().numTensors !== before) throw new Error("tensors left behind");
 * ```
 */
export function createTfModel(params: ParamMap, config: ModelConfig): TfModel {
  const w: Record<string, tf.Tensor> = {};
  for (const [name, { shape, values }] of Object.entries(params)) w[name] = tf.tensor(values, shape);
  return { config, w, dispose: () => Object.values(w).forEach((t) => t.dispose()) };
}

/**
 * Logits for B pairs given as one batch: Float32Array(2*B*S*S), the B first
 * images then the B second images, values 0..1. Returns Float32Array(B).
 * `opts` as tfExecutor's (default: folded weights).
 *
 * @example
 * ```ts
 * import { createTfModel, pairLogits } from "./model_tf.ts";
 * import { foldBatchNorm } from "./model.ts";
 * import { useBackend } from "./backend.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * await useBackend("wasm");
 * const folded = foldBatchNorm(initParams(SEED_MODEL, createRng(1)), SEED_MODEL);
 * folded["head/bias"].values[0] = 0.25; // any bias: the pair below scores exactly it
 * const m = createTfModel(folded, SEED_MODEL);
 * const [z] = pairLogits(m, new Float32Array(2 * 28 * 28)); // one pair: an image and itself
 * if (z !== folded["head/bias"].values[0]) throw new Error("identical images score other than the bias");
 * m.dispose();
 * ```
 */
export function pairLogits(m: TfModel, batch: Float32Array, opts?: TfOptions): Float32Array {
  const s = m.config.inputSize, n = batch.length / (s * s);
  if (!Number.isInteger(n / 2)) throw new Error(`Cannot score pairs: ${n} images is not an even count`);
  const t = tf.tidy(() => forward(tfExecutor(m.w, opts), m.config, tf.tensor4d(batch, [n, s, s, 1])).logits);
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/**
 * Embeddings [N, E] of images [N, S, S, 1] (E: classes, else embedding), folded weights.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createTfModel, embed } from "./model_tf.ts";
 * import { foldBatchNorm } from "./model.ts";
 * import { useBackend } from "./backend.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * await useBackend("wasm");
 * const m = createTfModel(foldBatchNorm(initParams(SEED_MODEL, createRng(1)), SEED_MODEL), SEED_MODEL);
 * const e = embed(m, tf.zeros([3, 28, 28, 1]));
 * if (e.shape.join() !== `3,${SEED_MODEL.embedding}`) throw new Error(`shape ${e.shape}`);
 * m.dispose();
 * ```
 */
export function embed(m: TfModel, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => tower(tfExecutor(m.w), m.config, x).embedding as tf.Tensor2D);
}

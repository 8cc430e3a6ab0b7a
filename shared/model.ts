// The Siamese model both halves run, defined once: `forward` is the layer
// sequence (a shared-weight ConvNet tower over every image, then the head on
// |e1 - e2|), and an Executor carries it out. Training runs it on TF.js with
// batch statistics (train/step.ts), the page on stock TF.js with folded
// weights (model_tf.ts), the edge and evaluation on the project's own SIMD
// kernels with folded weights (kernels/infer.ts). Batch norm in training
// mode, with running statistics, or folded is the executor's to choose, so
// the layer sequence cannot drift between them.
import type { ModelConfig } from "./config.ts";
import type { ParamMap } from "./params.ts";

/**
 * The layers `forward` is made of, over some batch type T (tensors or kernel
 * buffers). A batch holds 2B images, the B first sides of the pairs then
 * the B second sides; images are [S, S, 1], values 0..1, white on black.
 */
export interface Executor<T> {
  /** 3x3 "same" convolution `conv`, batch norm `bn`, ReLU, 2x2/2 max pool. */
  convBlock(x: T, conv: string, bn: string): T;
  /** Flatten, dense layer `dense`, batch norm `bn`, ReLU. */
  denseBlock(x: T, dense: string, bn: string): T;
  /** Dense layer `dense`, no activation. */
  dense(x: T, dense: string): T;
  /** Softmax over each image's row (logits to class probabilities). */
  softmax(x: T): T;
  /** One logit per pair: |first half - second half| times head/kernel, plus head/bias. */
  head(e: T): T;
}

/**
 * The tower, image by image: the embedding the head compares is the dense
 * layer's output or, with `classes`, the softmax of one more dense layer
 * (digit probabilities, whose logits come with it).
 *
 * @example
 * ```ts
 * import { type Executor, tower } from "./model.ts";
 * import { SEED_MODEL } from "./config.ts";
 *
 * // An executor over strings that appends each layer's name: it shows what runs, in order.
 * const step = (x: string, layer: string) => `${x} > ${layer}`;
 * const trace: Executor<string> = {
 *   convBlock: step, denseBlock: step, dense: step,
 *   softmax: (x) => step(x, "softmax"), head: (e) => step(e, "head"),
 * };
 * const { embedding, classLogits } = tower(trace, { ...SEED_MODEL, classes: 10 }, "x");
 * if (embedding !== "x > conv1 > conv2 > fc > cls > softmax") throw new Error(embedding);
 * if (classLogits !== "x > conv1 > conv2 > fc > cls") throw new Error(classLogits);
 * ```
 */
export function tower<T>(ex: Executor<T>, c: ModelConfig, x: T): { embedding: T; classLogits?: T } {
  const h = ex.convBlock(ex.convBlock(x, "conv1", "bn1"), "conv2", "bn2");
  const e = ex.denseBlock(h, "fc", "bn3");
  if (!c.classes) return { embedding: e };
  const classLogits = ex.dense(e, "cls");
  return { embedding: ex.softmax(classLogits), classLogits };
}

/**
 * The model: pair logits [B] for a batch of 2B images, and the tower's class logits [2B, classes].
 *
 * @example
 * ```ts
 * import { type Executor, forward } from "./model.ts";
 * import { SEED_MODEL } from "./config.ts";
 *
 * // An executor over strings that appends each layer's name: it shows what runs, in order.
 * const step = (x: string, layer: string) => `${x} > ${layer}`;
 * const trace: Executor<string> = {
 *   convBlock: step, denseBlock: step, dense: step,
 *   softmax: (x) => step(x, "softmax"), head: (e) => step(e, "head"),
 * };
 * const { logits } = forward(trace, SEED_MODEL, "x");
 * if (logits !== "x > conv1 > conv2 > fc > head") throw new Error(logits);
 * ```
 */
export function forward<T>(ex: Executor<T>, c: ModelConfig, x: T): { logits: T; classLogits?: T } {
  const { embedding, classLogits } = tower(ex, c, x);
  return { logits: ex.head(embedding), classLogits };
}

/** The batch-norm layer after each layer that has one. */
const NORMALIZED = [["conv1", "bn1"], ["conv2", "bn2"], ["fc", "bn3"]] as const;

/** A batch norm (inference statistics) folded into the layer before it, per output channel. */
export interface BnFold {
  /** What the layer's weights are multiplied by: s = gamma / sqrt(var + eps). */
  scale: Float32Array;
  /** The layer's new bias: (b - mean) * s + beta. */
  bias: Float32Array;
}

/**
 * The fold of each normalized layer (conv1, conv2, fc): per-channel numbers only, no weights touched.
 *
 * @example
 * ```ts
 * import { bnFolds } from "./model.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * const folds = bnFolds(initParams(SEED_MODEL, createRng(1)), SEED_MODEL); // fresh: gamma 1, mean 0, var 1
 * if (folds.conv1.scale.length !== SEED_MODEL.conv1) throw new Error("not one factor per channel");
 * const s = 1 / Math.sqrt(1 + SEED_MODEL.bnEpsilon);
 * if (Math.abs(folds.fc.scale[0] - s) > 1e-7 || folds.fc.bias[0] !== 0) throw new Error("wrong fold");
 * ```
 */
export function bnFolds(p: ParamMap, c: ModelConfig): Record<(typeof NORMALIZED)[number][0], BnFold> {
  const fold = ([layer, bn]: (typeof NORMALIZED)[number]): BnFold => {
    const b = p[`${layer}/bias`].values, g = p[`${bn}/gamma`].values, beta = p[`${bn}/beta`].values;
    const mean = p[`${bn}/moving_mean`].values, v = p[`${bn}/moving_variance`].values;
    const scale = g.map((gi, i) => gi / Math.sqrt(v[i] + c.bnEpsilon));
    return { scale, bias: b.map((bi, i) => (bi - mean[i]) * scale[i] + beta[i]) };
  };
  return { conv1: fold(NORMALIZED[0]), conv2: fold(NORMALIZED[1]), fc: fold(NORMALIZED[2]) };
}

/**
 * Fold each batch norm (inference statistics) into the layer before it:
 * W' = W * s, b' = (b - mean) * s + beta (`bnFolds`). Pure: returns a new
 * map of conv1, conv2, fc, [cls,] head.
 *
 * @example
 * ```ts
 * import { foldBatchNorm } from "./model.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * const params = initParams(SEED_MODEL, createRng(1)), folded = foldBatchNorm(params, SEED_MODEL);
 * if (Object.keys(folded).some((name) => name.startsWith("bn"))) throw new Error("a batch norm is left");
 * const s = 1 / Math.sqrt(1 + SEED_MODEL.bnEpsilon); // fresh statistics: W' = W * s
 * const [w, w2] = [params["fc/kernel"].values[7], folded["fc/kernel"].values[7]];
 * if (Math.abs(w2 - w * s) > 1e-7) throw new Error("not W * s");
 * ```
 */
export function foldBatchNorm(p: ParamMap, c: ModelConfig): ParamMap {
  const out: ParamMap = {}, folds = bnFolds(p, c);
  for (const [layer] of NORMALIZED) {
    const k = p[`${layer}/kernel`], { scale, bias } = folds[layer], co = scale.length;
    const kv = k.values.slice(); // scaled in a loop, not map(): see decodeWeights
    for (let i = 0; i < kv.length; i += co) for (let j = 0; j < co; j++) kv[i + j] *= scale[j];
    out[`${layer}/kernel`] = { shape: k.shape, values: kv };
    out[`${layer}/bias`] = { shape: [co], values: bias };
  }
  for (const layer of c.classes ? ["cls", "head"] : ["head"]) {
    out[`${layer}/kernel`] = p[`${layer}/kernel`];
    out[`${layer}/bias`] = p[`${layer}/bias`];
  }
  return out;
}

/**
 * Logistic function on a number: a pair's logit to its probability of "same".
 *
 * @example
 * ```ts
 * import { sigmoid } from "./model.ts";
 *
 * if (sigmoid(0) !== 0.5 || !(sigmoid(-10) < 1e-4 && sigmoid(10) > 1 - 1e-4)) throw new Error("logistic");
 * ```
 */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

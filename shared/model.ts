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
  softmax(x: T): T;
  /** One logit per pair: |first half - second half| times head/kernel, plus head/bias. */
  head(e: T): T;
}

/**
 * The tower, image by image: the embedding the head compares is the dense
 * layer's output or, with `classes`, the softmax of one more dense layer
 * (digit probabilities, whose logits come with it).
 */
export function tower<T>(ex: Executor<T>, c: ModelConfig, x: T): { embedding: T; classLogits?: T } {
  const h = ex.convBlock(ex.convBlock(x, "conv1", "bn1"), "conv2", "bn2");
  const e = ex.denseBlock(h, "fc", "bn3");
  if (!c.classes) return { embedding: e };
  const classLogits = ex.dense(e, "cls");
  return { embedding: ex.softmax(classLogits), classLogits };
}

/** The model: pair logits [B] for a batch of 2B images, and the tower's class logits [2B, classes]. */
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

/** The fold of each normalized layer (conv1, conv2, fc): per-channel numbers only, no weights touched. */
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

/** Logistic function on a number. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

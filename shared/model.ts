// The Siamese model both halves run: a shared-weight ConvNet tower maps each
// 28x28 image to an embedding (the dense layer's output, or with
// `config.classes` the softmax of one more dense layer: digit probabilities);
// the head scores |e1 - e2| with one logit.
// Inference runs on batch-norm-folded weights with fused TF.js core ops.
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config.ts";
import type { ParamMap } from "./params.ts";

/**
 * Fold each batch norm (inference statistics) into the layer before it:
 * W' = W * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps),
 * per output channel. Pure: returns a new map of conv1, conv2, fc, [cls,] head.
 */
export function foldBatchNorm(p: ParamMap, c: ModelConfig): ParamMap {
  const out: ParamMap = {};
  for (const [layer, bn] of [["conv1", "bn1"], ["conv2", "bn2"], ["fc", "bn3"]]) {
    const k = p[`${layer}/kernel`], b = p[`${layer}/bias`].values;
    const g = p[`${bn}/gamma`].values, beta = p[`${bn}/beta`].values;
    const mean = p[`${bn}/moving_mean`].values, v = p[`${bn}/moving_variance`].values;
    const co = b.length;
    const s = g.map((gi, i) => gi / Math.sqrt(v[i] + c.bnEpsilon));
    const kv = k.values.map((w, i) => w * s[i % co]);
    out[`${layer}/kernel`] = { shape: k.shape, values: kv };
    out[`${layer}/bias`] = { shape: [co], values: b.map((bi, i) => (bi - mean[i]) * s[i] + beta[i]) };
  }
  for (const layer of c.classes ? ["cls", "head"] : ["head"]) {
    out[`${layer}/kernel`] = p[`${layer}/kernel`];
    out[`${layer}/bias`] = p[`${layer}/bias`];
  }
  return out;
}

/** Folded weights as tensors, ready for `embed` / `pairLogits`. */
export interface InferenceModel {
  config: ModelConfig;
  w: Record<string, tf.Tensor>;
  dispose(): void;
}

/** Upload folded weights (from `foldBatchNorm`) to the active backend. */
export function createInferenceModel(folded: ParamMap, config: ModelConfig): InferenceModel {
  const w: Record<string, tf.Tensor> = {};
  for (const [name, { shape, values }] of Object.entries(folded)) w[name] = tf.tensor(values, shape);
  return { config, w, dispose: () => Object.values(w).forEach((t) => t.dispose()) };
}

/**
 * Embeddings of a batch of images.
 * x: [N, S, S, 1] float32, values 0..1 (white digit on black, as MNIST).
 * Returns [N, E] float32 (E: config.classes, else config.embedding).
 */
export function embed(m: InferenceModel, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy((): tf.Tensor2D => {
    const w = m.w;
    const conv = (h: tf.Tensor4D, layer: string) =>
      tf.maxPool(
        tf.fused.conv2d({
          x: h,
          filter: w[`${layer}/kernel`] as tf.Tensor4D,
          strides: 1,
          pad: "same",
          bias: w[`${layer}/bias`],
          activation: "relu",
        }),
        2,
        2,
        "valid",
      );
    const h = conv(conv(x, "conv1"), "conv2");
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    const e = tf.fused.matMul({
      a: flat,
      b: w["fc/kernel"] as tf.Tensor2D,
      bias: w["fc/bias"],
      activation: "relu",
    }) as tf.Tensor2D;
    if (!m.config.classes) return e;
    return tf.softmax(
      tf.fused.matMul({ a: e, b: w["cls/kernel"] as tf.Tensor2D, bias: w["cls/bias"] }),
    ) as tf.Tensor2D;
  });
}

/** Head: logit of "same digit" from two embedding batches [B, E] -> [B]. */
export function headLogits(m: InferenceModel, e1: tf.Tensor2D, e2: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.reshape(
      tf.fused.matMul({
        a: tf.abs(tf.sub(e1, e2)),
        b: m.w["head/kernel"] as tf.Tensor2D,
        bias: m.w["head/bias"],
      }),
      [-1],
    ) as tf.Tensor1D
  );
}

/**
 * Logits for B pairs given as one batch: Float32Array(2*B*S*S), the B first
 * images then the B second images, values 0..1. Returns Float32Array(B).
 */
export function pairLogits(m: InferenceModel, batch: Float32Array): Float32Array {
  const s = m.config.inputSize, n = batch.length / (s * s);
  if (!Number.isInteger(n / 2)) throw new Error(`Cannot score pairs: ${n} images is not an even count`);
  const t = tf.tidy(() => {
    const e = embed(m, tf.tensor4d(batch, [n, s, s, 1]));
    const [e1, e2] = tf.split(e, 2, 0) as tf.Tensor2D[];
    return headLogits(m, e1, e2);
  });
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/** Logistic function on a number. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

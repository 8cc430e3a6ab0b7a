// One training step of the Siamese model on TF.js core ops: a single batch of
// 2B images through the tower (both sides of every pair at once), batch norm
// with a closed-form gradient (tfjs's autodiff of moments is Tile-heavy),
// BCE-with-logits on |e1 - e2|, Adam. Running BN statistics as PyTorch keeps them.
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../shared/config.ts";
import { type ParamMap, paramSpecs } from "../shared/params.ts";

export interface Trainer {
  config: ModelConfig;
  vars: Record<string, tf.Variable>;
  optimizer: tf.AdamOptimizer;
}

/** Variables and an Adam optimizer (PyTorch's defaults: eps 1e-8). */
export function createTrainer(params: ParamMap, config: ModelConfig, lr: number): Trainer {
  const vars: Record<string, tf.Variable> = {};
  for (const s of paramSpecs(config)) {
    const p = params[s.name];
    vars[s.name] = tf.variable(tf.tensor(p.values, p.shape), s.trainable, s.name);
  }
  return { config, vars, optimizer: tf.train.adam(lr, 0.9, 0.999, 1e-8) as tf.AdamOptimizer };
}

/** Batch norm over `axes` with batch statistics; pushes [mean, var] to `stats`. */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
  stats: tf.Tensor[],
): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const n = x.size / x.shape[x.shape.length - 1];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(x, axes);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), axes);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, gamma]);
    stats.push(tf.keep(mean), tf.keep(variance));
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, rstd, g] = saved;
        const dbeta = tf.sum(dy, axes);
        const dgamma = tf.sum(tf.mul(dy, xhat), axes);
        const dx = tf.mul(
          tf.div(tf.mul(g, rstd), n),
          tf.sub(tf.sub(tf.mul(dy, n), dbeta), tf.mul(xhat, dgamma)),
        );
        return [dx, dgamma, dbeta];
      },
    };
  });
  return f(x, gamma, beta);
}

/**
 * Training-mode forward: logits [B] for a batch [2B, S, S, 1] (first B images
 * are the pairs' first sides). BN batch stats are appended to `stats`.
 */
export function forwardTrain(t: Trainer, x: tf.Tensor4D, stats: tf.Tensor[]): tf.Tensor1D {
  const v = t.vars, eps = t.config.bnEpsilon;
  const block = (h: tf.Tensor4D, conv: string, bn: string) => {
    const y = tf.conv2d(h, v[`${conv}/kernel`] as tf.Tensor4D, 1, "same");
    const z = batchNormTrain(tf.add(y, v[`${conv}/bias`]), v[`${bn}/gamma`], v[`${bn}/beta`], eps, stats);
    return tf.maxPool(tf.relu(z) as tf.Tensor4D, 2, 2, "valid");
  };
  const h = block(block(x, "conv1", "bn1"), "conv2", "bn2");
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  const fc = tf.add(tf.matMul(flat, v["fc/kernel"] as tf.Tensor2D), v["fc/bias"]);
  const e = tf.relu(batchNormTrain(fc, v["bn3/gamma"], v["bn3/beta"], eps, stats)) as tf.Tensor2D;
  const [e1, e2] = tf.split(e, 2, 0);
  const logit = tf.add(tf.matMul(tf.abs(tf.sub(e1, e2)), v["head/kernel"] as tf.Tensor2D), v["head/bias"]);
  return tf.reshape(logit, [-1]) as tf.Tensor1D;
}

/**
 * One Adam step on B pairs. batch: Float32Array(2*B*S*S) values 0..1 (first
 * sides then second sides); same: Float32Array(B) of 0/1. Returns the mean
 * BCE-with-logits loss before the update.
 */
export function trainStep(t: Trainer, batch: Float32Array, same: Float32Array): number {
  const s = t.config.inputSize, m = t.config.bnMomentum;
  const stats: tf.Tensor[] = [];
  const names = ["bn1", "bn2", "bn3"];
  const loss = tf.tidy(() => {
    const x = tf.tensor4d(batch, [batch.length / (s * s), s, s, 1]);
    const y = tf.tensor1d(same);
    const trainable = Object.values(t.vars).filter((v) => v.trainable);
    return t.optimizer.minimize(
      () => tf.losses.sigmoidCrossEntropy(y, forwardTrain(t, x, stats)) as tf.Scalar,
      true,
      trainable,
    )!;
  });
  tf.tidy(() => {
    names.forEach((bn, i) => {
      const [mean, variance] = [stats[2 * i], stats[2 * i + 1]];
      const rm = t.vars[`${bn}/moving_mean`], rv = t.vars[`${bn}/moving_variance`];
      const samples = bnSamples(t.config, bn, batch.length / (s * s));
      rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
      rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(variance, (m * samples) / (samples - 1))));
    });
  });
  stats.forEach((x) => x.dispose());
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

/** Values per channel a BN layer averages over, for the unbiased variance. */
function bnSamples(c: ModelConfig, bn: string, images: number): number {
  if (bn === "bn1") return images * c.inputSize ** 2;
  if (bn === "bn2") return images * (c.inputSize / 2) ** 2;
  return images;
}

/** Current weights as a ParamMap (copies). */
export function readParams(t: Trainer): ParamMap {
  const out: ParamMap = {};
  for (const [name, v] of Object.entries(t.vars)) {
    out[name] = { shape: v.shape.slice(), values: (v.dataSync() as Float32Array).slice() };
  }
  return out;
}

/** Free variables and optimizer state. */
export function disposeTrainer(t: Trainer): void {
  Object.values(t.vars).forEach((v) => v.dispose());
  t.optimizer.dispose();
}

// One training step of the Siamese model on TF.js core ops: a single batch of
// 2B images through the tower (both sides of every pair at once), batch norm
// with a closed-form gradient (tfjs's autodiff of moments is Tile-heavy),
// BCE-with-logits on |e1 - e2| (plus, when the tower ends in digit classes,
// their weighted softmax cross-entropy on every image), Adam. Running BN
// statistics as PyTorch keeps them.
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../shared/config.ts";
import { forward } from "../shared/model.ts";
import { type Norm, tfExecutor } from "../shared/model_tf.ts";
import { type ParamMap, paramSpecs } from "../shared/params.ts";
import {
  BN_FORWARD,
  BN_GRAD,
  BN_POOL_FORWARD,
  BN_POOL_GRAD,
  canPoolFuse,
  hasBatchNormKernels,
} from "./kernels/batch_norm.ts";
import { ADAM_UPDATE } from "./kernels/register.ts";

export interface Trainer {
  config: ModelConfig;
  vars: Record<string, tf.Variable>;
  optimizer: tf.AdamOptimizer;
  /** Weight of the digit cross-entropy (0: the pair loss alone). */
  digitLoss: number;
}

/**
 * Variables and an Adam optimizer (PyTorch's defaults: eps 1e-8).
 * `digitLoss` weighs the digit cross-entropy; it needs `config.classes`.
 */
export function createTrainer(params: ParamMap, config: ModelConfig, lr: number, digitLoss = 0): Trainer {
  if (digitLoss > 0 && !config.classes) throw new Error("A digit loss needs config.classes > 0");
  const vars: Record<string, tf.Variable> = {};
  for (const s of paramSpecs(config)) {
    const p = params[s.name];
    const init = tf.tensor(p.values, p.shape);
    vars[s.name] = tf.variable(init, s.trainable, s.name);
    init.dispose(); // the variable holds its own reference to the data
  }
  return { config, vars, optimizer: tf.train.adam(lr, 0.9, 0.999, 1e-8) as tf.AdamOptimizer, digitLoss };
}

/** A batch-norm layer in training: relu?(BN(x + bias)) with batch statistics. */
export interface BatchNormLayer {
  gamma: tf.Tensor;
  beta: tf.Tensor;
  eps: number;
  /** The preceding layer's bias (it shifts the mean and nothing else). */
  bias?: tf.Tensor;
  relu?: boolean;
}

/**
 * relu?(BN(x + bias)) over all axes but the last, with batch statistics;
 * pushes the [mean, variance] of x + bias to `stats`.
 */
export function batchNormTrain(x: tf.Tensor, layer: BatchNormLayer, stats: tf.Tensor[]): tf.Tensor {
  if (hasBatchNormKernels()) return batchNormKernels(x, layer, stats);
  const { gamma, beta, eps, bias, relu } = layer;
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
  const z = f(bias ? tf.add(x, bias) : x, gamma, beta);
  return relu ? tf.relu(z) : z;
}

/**
 * A fused batch-norm kernel pair (kernels/batch_norm.ts) as a differentiable op of x,
 * gamma, beta[, bias]: `forward` runs the forward kernel on those inputs and
 * returns the output, the batch statistics and what `backward` needs.
 */
function fused(
  x: tf.Tensor,
  layer: BatchNormLayer,
  stats: tf.Tensor[],
  forward: (
    inputs: tf.NamedTensorMap,
  ) => { value: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; saved: tf.Tensor[] },
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[],
): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, gamma, beta, bias] = args as tf.Tensor[];
    const { value, mean, variance, saved } = forward(bias ? { x, gamma, beta, bias } : { x, gamma, beta });
    save(saved);
    stats.push(tf.keep(mean), tf.keep(variance));
    return { value, gradFunc: backward };
  });
  const { gamma, beta, bias } = layer;
  return bias ? f(x, gamma, beta, bias) : f(x, gamma, beta);
}

const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) =>
  tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor[];

/** batchNormTrain on the fused wasm kernels. */
function batchNormKernels(x: tf.Tensor, layer: BatchNormLayer, stats: tf.Tensor[]) {
  const { eps: epsilon, relu = false, bias } = layer;
  return fused(
    x,
    layer,
    stats,
    (inputs) => {
      const [y, xhat, mean, variance, rstd] = run(BN_FORWARD, inputs, { epsilon, relu });
      return {
        value: y,
        mean,
        variance,
        saved: relu ? [xhat, inputs.gamma, rstd, y] : [xhat, inputs.gamma, rstd],
      };
    },
    (dy, [xhat, gamma, rstd, y]) =>
      run(BN_GRAD, relu ? { dy, xhat, gamma, rstd, y } : { dy, xhat, gamma, rstd }, { relu, bias: !!bias }),
  );
}

/**
 * maxPool2x2(batchNormTrain(x, {...layer, relu: true})) as one fused kernel
 * pair where the backend has it and the shape allows (canPoolFuse), else
 * exactly that composition.
 */
export function batchNormReluPool(x: tf.Tensor4D, layer: BatchNormLayer, stats: tf.Tensor[]): tf.Tensor4D {
  if (!hasBatchNormKernels() || !canPoolFuse(x.shape)) {
    return tf.maxPool(batchNormTrain(x, { ...layer, relu: true }, stats) as tf.Tensor4D, 2, 2, "valid");
  }
  const { eps: epsilon, bias } = layer;
  return fused(
    x,
    layer,
    stats,
    (inputs) => {
      const [pooled, mean, variance, rstd, mx] = run(BN_POOL_FORWARD, inputs, { epsilon });
      return { value: pooled, mean, variance, saved: [inputs.x, mx, rstd, inputs.gamma, inputs.beta] };
    },
    (dpool, [x, mx, rstd, gamma, beta]) =>
      run(BN_POOL_GRAD, { dpool, x, mx, rstd, gamma, beta }, { bias: !!bias }),
  ) as tf.Tensor4D;
}

/**
 * Training-mode forward: `forward` (shared/model.ts) with batch statistics.
 * Pair logits [B] for a batch [2B, S, S, 1] (first B images are the pairs'
 * first sides) and, when the tower ends in classes, the class logits
 * [2B, classes]. BN batch stats are appended to `stats`.
 */
export function forwardTrain(
  t: Trainer,
  x: tf.Tensor4D,
  stats: tf.Tensor[],
): { logits: tf.Tensor1D; classLogits?: tf.Tensor2D } {
  const v = t.vars, eps = t.config.bnEpsilon;
  const norm: Norm = (x, bn, bias, pool) => {
    const layer = { gamma: v[`${bn}/gamma`], beta: v[`${bn}/beta`], eps, bias };
    return pool
      ? batchNormReluPool(x as tf.Tensor4D, layer, stats)
      : batchNormTrain(x, { ...layer, relu: true }, stats);
  };
  // On digit probabilities the head's weights are tied: every entry gets the
  // same gradient (of their mean) and they start equal, so they stay equal and
  // the head scores the L1 distance between the two digit distributions,
  // whichever digits they are. Inference's untied head then computes the same.
  const { logits, classLogits } = forward(tfExecutor(v, { norm, tieHead: !!t.config.classes }), t.config, x);
  return { logits: logits as tf.Tensor1D, classLogits: classLogits as tf.Tensor2D | undefined };
}

/** Gradients and BN batch statistics of one (part of a) batch, flattened. */
export interface StepResult {
  loss: number;
  /** Gradients of the trainable params, concatenated in paramSpecs order. */
  grads: Float32Array;
  /** Batch mean and variance of bn1, bn2, bn3, concatenated. */
  stats: Float32Array;
}

/** The same as tensors, which the caller disposes. */
export interface GradTensors {
  loss: number;
  /** One per trainable param, in paramSpecs order. */
  grads: tf.Tensor[];
  /** Batch mean then variance of bn1, bn2, bn3. */
  stats: tf.Tensor[];
}

const BN_LAYERS = ["bn1", "bn2", "bn3"];

/** The trainable variables, in paramSpecs order (the order of gradients everywhere). */
export const trainableVars = (t: Trainer) => Object.values(t.vars).filter((v) => v.trainable);

/**
 * Loss, gradients and BN statistics for B pairs, without updating anything.
 * batch: Float32Array(2*B*S*S) values 0..1 (first sides then second sides);
 * same: Float32Array(B) of 0/1; digits: the 2B images' classes in batch order
 * (needed when the trainer has a digit loss).
 */
export function gradTensors(
  t: Trainer,
  batch: Float32Array,
  same: Float32Array,
  digits?: Int32Array,
): GradTensors {
  if (t.digitLoss > 0 && digits?.length !== 2 * same.length) {
    throw new Error(`The digit loss needs ${2 * same.length} digit labels, got ${digits?.length ?? 0}`);
  }
  const s = t.config.inputSize;
  const stats: tf.Tensor[] = [];
  const trainable = trainableVars(t);
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor4d(batch, [batch.length / (s * s), s, s, 1]);
    const y = tf.tensor1d(same);
    return tf.variableGrads(() => {
      const { logits, classLogits } = forwardTrain(t, x, stats);
      const pair = tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
      if (!(t.digitLoss > 0)) return pair;
      const onehot = tf.oneHot(tf.tensor1d(digits!, "int32"), t.config.classes!);
      return tf.add(
        pair,
        tf.mul(tf.losses.softmaxCrossEntropy(onehot, classLogits!), t.digitLoss),
      ) as tf.Scalar;
    }, trainable);
  });
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: trainable.map((v) => grads[v.name]), stats };
}

/** gradTensors, flattened into arrays. */
export function computeGrads(
  t: Trainer,
  batch: Float32Array,
  same: Float32Array,
  digits?: Int32Array,
): StepResult {
  const r = gradTensors(t, batch, same, digits);
  const out = { loss: r.loss, grads: flatten(r.grads), stats: flatten(r.stats) };
  tf.dispose([...r.grads, ...r.stats]);
  return out;
}

/** Tensors' data, concatenated. */
export function flatten(ts: tf.Tensor[]): Float32Array {
  const out = new Float32Array(ts.reduce((a, t) => a + t.size, 0));
  let o = 0;
  for (const t of ts) {
    out.set(t.dataSync() as Float32Array, o);
    o += t.size;
  }
  return out;
}

/**
 * Apply (averaged) gradients with Adam and fold (averaged) BN statistics into
 * the running averages as PyTorch does (unbiased variance over `images`, the
 * images per replica that the statistics came from). `grads`: flattened in
 * paramSpecs order, or one tensor per trainable param (not disposed here).
 */
export function applyUpdate(
  t: Trainer,
  grads: Float32Array | tf.Tensor[],
  stats: Float32Array,
  images: number,
  lr?: number,
): void {
  const m = t.config.bnMomentum;
  // tfjs's Adam reads this field on every update, so a schedule can set it.
  if (lr !== undefined) (t.optimizer as unknown as { learningRate: number }).learningRate = lr;
  tf.tidy(() => {
    let o = 0;
    const named = trainableVars(t).map((v, i) => {
      const tensor = Array.isArray(grads) ? grads[i] : tf.tensor(grads.subarray(o, o + v.size), v.shape);
      o += v.size;
      return { name: v.name, tensor };
    });
    applyAdam(t.optimizer, named);
    o = 0;
    for (const bn of BN_LAYERS) {
      const rm = t.vars[`${bn}/moving_mean`], rv = t.vars[`${bn}/moving_variance`];
      const mean = tf.tensor(stats.subarray(o, o + rm.size)),
        variance = tf.tensor(stats.subarray(o + rm.size, o + 2 * rm.size));
      o += 2 * rm.size;
      const n = bnSamples(t.config, bn, images);
      rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
      rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(variance, (m * n) / (n - 1))));
    }
  });
}

/** The AdamOptimizer fields that applyAdam reads and updates. */
interface AdamFields {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * optimizer.applyGradients(named), with each variable's update as one fused
 * kernel where the backend has it (the same float32 operations in the same
 * order; the optimizer's state stays where tfjs keeps it, so checkpoints and
 * getWeights() see no difference). Elsewhere, tfjs's own implementation.
 */
export function applyAdam(optimizer: tf.AdamOptimizer, named: { name: string; tensor: tf.Tensor }[]): void {
  if (!tf.getKernel(ADAM_UPDATE, tf.getBackend())) return optimizer.applyGradients(named);
  const o = optimizer as unknown as AdamFields;
  const c1 = Math.fround(1 - o.accBeta1.dataSync()[0]), c2 = Math.fround(1 - o.accBeta2.dataSync()[0]);
  const attrs = { beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, lr: o.learningRate, c1, c2 };
  tf.tidy(() => {
    named.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name];
      const moment = (name: string) => ({
        originalName: name,
        variable: tf.zerosLike(value).variable(false),
      });
      o.accumulatedFirstMoment[i] ??= moment(`${name}/m`);
      o.accumulatedSecondMoment[i] ??= moment(`${name}/v`);
      const m = o.accumulatedFirstMoment[i].variable, v = o.accumulatedSecondMoment[i].variable;
      const [p2, m2, v2] = tf.engine().runKernel(
        ADAM_UPDATE,
        { value, gradient, m, v },
        attrs,
      ) as tf.Tensor[];
      m.assign(m2);
      v.assign(v2);
      value.assign(p2);
    });
    o.accBeta1.assign(tf.mul(o.accBeta1, o.beta1));
    o.accBeta2.assign(tf.mul(o.accBeta2, o.beta2));
  });
  o.incrementIterations();
}

/** One Adam step on B pairs in this thread. Returns the loss before the update. */
export function trainStep(
  t: Trainer,
  batch: Float32Array,
  same: Float32Array,
  lr?: number,
  digits?: Int32Array,
): number {
  const r = computeGrads(t, batch, same, digits);
  applyUpdate(t, r.grads, r.stats, batch.length / t.config.inputSize ** 2, lr);
  return r.loss;
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

/** Adam's state, exact: moments of each trainable variable and its counters. */
export interface OptimizerState {
  iterations: number;
  accBeta1: number;
  accBeta2: number;
  /** First moments then second moments, in trainable paramSpecs order. */
  moments: Float32Array[];
}

type AdamInternals = { accBeta1: tf.Variable; accBeta2: tf.Variable; iterations_: number };

/** Copy out Adam's state (empty moments before the first update). */
export async function readOptimizerState(t: Trainer): Promise<OptimizerState> {
  const w = await t.optimizer.getWeights();
  const o = t.optimizer as unknown as AdamInternals;
  return {
    iterations: o.iterations_ ?? 0,
    accBeta1: o.accBeta1.dataSync()[0],
    accBeta2: o.accBeta2.dataSync()[0],
    moments: w.slice(1).map((x) => (x.tensor.dataSync() as Float32Array).slice()),
  };
}

/**
 * Restore Adam's state exactly. tfjs's setWeights recomputes the beta powers
 * as pow(beta, t + 1), which differs from the running product in the last
 * bit, so they are written back as saved.
 */
export async function writeOptimizerState(t: Trainer, s: OptimizerState): Promise<void> {
  if (s.moments.length === 0) return;
  const trainable = trainableVars(t);
  const named = [{ name: "iter", tensor: tf.scalar(s.iterations, "int32") }];
  s.moments.forEach((m, i) => {
    const v = trainable[i % trainable.length];
    named.push({ name: `${v.name}/${i < trainable.length ? "m" : "v"}`, tensor: tf.tensor(m, v.shape) });
  });
  await t.optimizer.setWeights(named);
  tf.dispose(named.map((n) => n.tensor));
  const o = t.optimizer as unknown as AdamInternals;
  tf.tidy(() => {
    o.accBeta1.assign(tf.scalar(s.accBeta1));
    o.accBeta2.assign(tf.scalar(s.accBeta2));
  });
}

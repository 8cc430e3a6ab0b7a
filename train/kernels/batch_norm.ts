// Training-mode batch norm as two wasm kernels (forward and gradient), with
// the layer's preceding bias and following ReLU folded in: y = relu(BN(x + b)).
// Built from tf ops the same work took ~45% of a training step (a dozen
// elementwise ops and reductions with broadcasting). Channels last,
// statistics over every other axis; SIMD (simd.wat) when the channel count
// is a multiple of 4, plain loops otherwise.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heap, simdFor } from "../../shared/kernels/simd.ts";

export const BN_FORWARD = "SiameseBatchNormTrain";
export const BN_GRAD = "SiameseBatchNormTrainGrad";
export const BN_POOL_FORWARD = "SiameseBatchNormReluPool";
export const BN_POOL_GRAD = "SiameseBatchNormReluPoolGrad";

type Info = tf.TensorInfo;
const size = (t: Info) => t.shape.reduce((a, b) => a * b, 1);

/**
 * x, gamma, beta[, bias] -> y, xhat, mean, variance (biased), rstd, where the
 * statistics are those of x + bias (the bias shifts the mean and nothing else).
 */
function forward(
  args: { inputs: { x: Info; gamma: Info; beta: Info; bias?: Info }; backend: BackendWasm; attrs: unknown },
) {
  const { inputs: { x, gamma, beta, bias }, backend } = args;
  const { epsilon: eps, relu } = args.attrs as { epsilon: number; relu: boolean };
  const c = x.shape[x.shape.length - 1], total = size(x), m = total / c;
  const y = backend.makeOutput(x.shape, "float32"), xhat = backend.makeOutput(x.shape, "float32");
  const { mx, mean, variance, rstd } = statistics(backend, x, eps, bias);
  const simd = c % 4 === 0 && m > 0 ? simdFor(backend) : undefined;
  const rv = heap(backend, rstd);
  if (simd) {
    const at = (t: Info) => simd.addr(t.dataId), s = simd.scratch(4 * c);
    simd.heapF32(s, c).set(mx);
    simd.k.bn_apply(at(x), m, c, s, at(rstd), at(gamma), at(beta), at(y), at(xhat), relu ? 1 : 0);
    return [y, xhat, mean, variance, rstd];
  }
  const xv = heap(backend, x), g = heap(backend, gamma), b = heap(backend, beta);
  const yv = heap(backend, y), hv = heap(backend, xhat);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const h = (xv[i + k] - mx[k]) * rv[k], o = h * g[k] + b[k];
      hv[i + k] = h;
      yv[i + k] = relu && !(o > 0) ? 0 : o;
    }
  }
  return [y, xhat, mean, variance, rstd];
}

/**
 * Batch statistics of x + bias as outputs (mean, biased variance, rstd) and
 * the mean of x alone (mx), from float64 moments shifted by the first row so
 * that E[x^2] - E[x]^2 does not cancel catastrophically.
 */
function statistics(backend: BackendWasm, x: Info, eps: number, bias?: Info) {
  const c = x.shape[x.shape.length - 1], total = size(x), m = total / c;
  const mean = backend.makeOutput([c], "float32"), variance = backend.makeOutput([c], "float32");
  const rstd = backend.makeOutput([c], "float32");
  const s1 = new Float64Array(c), s2 = new Float64Array(c), shift = heap(backend, x).slice(0, c);
  if (c % 4 === 0 && m > 0) {
    const simd = simdFor(backend), s = simd.scratch(16 * c), xAt = simd.addr(x.dataId);
    simd.heapF64(s, 2 * c).fill(0);
    simd.k.moments(xAt, xAt, xAt, m, c, s, s + 8 * c);
    const sums = simd.heapF64(s, 2 * c);
    s1.set(sums.subarray(0, c));
    s2.set(sums.subarray(c));
  } else {
    const xv = heap(backend, x);
    for (let i = 0; i < total; i += c) {
      for (let k = 0; k < c; k++) {
        const d = xv[i + k] - shift[k];
        s1[k] += d;
        s2[k] += d * d;
      }
    }
  }
  const mx = new Float32Array(c), rv = heap(backend, rstd), vv = heap(backend, variance);
  const mv = heap(backend, mean), bv = bias ? heap(backend, bias) : undefined;
  for (let k = 0; k < c; k++) {
    const md = s1[k] / m;
    mx[k] = shift[k] + md;
    vv[k] = Math.max(0, s2[k] / m - md * md);
    rv[k] = 1 / Math.sqrt(vv[k] + eps);
    mv[k] = bv ? mx[k] + bv[k] : mx[k];
  }
  return { mx, mean, variance, rstd };
}

/**
 * From the gradient sums [sum dz (c), sum dz * xhat (c)] over m rows: writes
 * dbeta and dgamma, and returns the per-channel coefficients of
 * dx = scale * (dz - mb - xhat * mg) as [scale, mb, mg] (c each).
 */
function coefficients(
  backend: BackendWasm,
  sums: Float64Array,
  m: number,
  gamma: Info,
  rstd: Info,
  dgamma: Info,
  dbeta: Info,
): Float32Array {
  const c = sums.length / 2, g = heap(backend, gamma), r = heap(backend, rstd);
  const dg = heap(backend, dgamma), db = heap(backend, dbeta), k3 = new Float32Array(3 * c);
  for (let k = 0; k < c; k++) {
    db[k] = sums[k];
    dg[k] = sums[c + k];
    k3[k] = g[k] * r[k];
    k3[c + k] = sums[k] / m;
    k3[2 * c + k] = sums[c + k] / m;
  }
  return k3;
}

/** True when bn_relu_pool applies: NHWC, channels % 4 == 0, even height and width. */
export function canPoolFuse(shape: number[]): boolean {
  return shape.length === 4 && shape[3] % 4 === 0 && shape[1] % 2 === 0 && shape[2] % 2 === 0 &&
    shape.every((d) => d > 0);
}

/**
 * x, gamma, beta[, bias] -> pooled, mean, variance, rstd, mx: the 2x2/2 max
 * pool of relu(BN(x + bias)) without the full-size intermediates; mx is the
 * mean of x alone, for the gradient.
 */
function poolForward(
  args: { inputs: { x: Info; gamma: Info; beta: Info; bias?: Info }; backend: BackendWasm; attrs: unknown },
) {
  const { inputs: { x, gamma, beta, bias }, backend } = args;
  if (!canPoolFuse(x.shape)) throw new Error(`${BN_POOL_FORWARD}: unsupported shape [${x.shape}]`);
  const [n, h, w, c] = x.shape;
  const { mx, mean, variance, rstd } = statistics(
    backend,
    x,
    (args.attrs as { epsilon: number }).epsilon,
    bias,
  );
  const pooled = backend.makeOutput([n, h / 2, w / 2, c], "float32"),
    mxOut = backend.makeOutput([c], "float32");
  heap(backend, mxOut).set(mx);
  const simd = simdFor(backend), at = (t: Info) => simd.addr(t.dataId);
  simd.k.bn_relu_pool(at(x), n * (h / 2), w / 2, c, at(mxOut), at(rstd), at(gamma), at(beta), at(pooled));
  return [pooled, mean, variance, rstd, mxOut];
}

/** dpool, x, mx, rstd, gamma, beta -> dx, dgamma, dbeta[, dbias when attrs.bias]. */
function poolGrad(
  args: {
    inputs: { dpool: Info; x: Info; mx: Info; rstd: Info; gamma: Info; beta: Info };
    backend: BackendWasm;
    attrs: unknown;
  },
) {
  const { inputs: { dpool, x, mx, rstd, gamma, beta }, backend } = args;
  const [n, h, w, c] = x.shape, m = n * h * w, rows = n * (h / 2), ow = w / 2;
  const dx = backend.makeOutput(x.shape, "float32");
  const dgamma = backend.makeOutput([c], "float32"), dbeta = backend.makeOutput([c], "float32");
  const dbias = (args.attrs as { bias: boolean }).bias ? backend.makeOutput([c], "float32") : undefined;
  const simd = simdFor(backend), at = (t: Info) => simd.addr(t.dataId);
  const s = simd.scratch(40 * c), part = s + 16 * c, k3 = s + 24 * c;
  const sums = simd.heapF64(s, 2 * c).fill(0);
  simd.k.bn_relu_pool_dz(
    at(x),
    at(dpool),
    at(dx),
    rows,
    ow,
    c,
    at(mx),
    at(rstd),
    at(gamma),
    at(beta),
    s,
    s + 8 * c,
    part,
  );
  simd.heapF32(k3, 3 * c).set(coefficients(backend, sums, m, gamma, rstd, dgamma, dbeta));
  simd.heapF64(s, c).fill(0);
  simd.k.bn_pool_dx(at(x), at(dx), rows, ow, c, at(mx), at(rstd), k3, s, part);
  if (dbias) heap(backend, dbias).set(simd.heapF64(s, c));
  return dbias ? [dx, dgamma, dbeta, dbias] : [dx, dgamma, dbeta];
}

/**
 * dy, xhat, gamma, rstd[, y when relu] -> dx, dgamma, dbeta[, dbias when
 * attrs.bias] (dbias is the sum of dx over rows).
 */
function grad(
  args: {
    inputs: { dy: Info; xhat: Info; gamma: Info; rstd: Info; y?: Info };
    backend: BackendWasm;
    attrs: unknown;
  },
) {
  const { inputs: { dy, xhat, gamma, rstd, y }, backend } = args;
  const { relu, bias } = args.attrs as { relu: boolean; bias: boolean };
  if (relu && !y) throw new Error(`${BN_GRAD}: relu needs the forward output y`);
  const c = dy.shape[dy.shape.length - 1], total = size(dy), m = total / c;
  const dx = backend.makeOutput(dy.shape, "float32");
  const dgamma = backend.makeOutput([c], "float32"), dbeta = backend.makeOutput([c], "float32");
  const dbias = bias ? backend.makeOutput([c], "float32") : undefined;
  const outs = dbias ? [dx, dgamma, dbeta, dbias] : [dx, dgamma, dbeta];
  const simd = c % 4 === 0 && m > 0 ? simdFor(backend) : undefined;
  if (simd) {
    // dz (dy through the ReLU) goes to dx first, then dx is computed in place.
    const at = (t: Info) => simd.addr(t.dataId), s = simd.scratch(32 * c);
    const zero = s + 16 * c, coef = s + 20 * c;
    if (relu) simd.k.relu_mask(at(dy), at(y!), at(dx), total);
    const dz = relu ? at(dx) : at(dy);
    simd.heapF64(s, 2 * c).fill(0);
    simd.heapF32(zero, c).fill(0);
    simd.k.moments(dz, at(xhat), zero, m, c, s, s + 8 * c);
    simd.heapF32(coef, 3 * c).set(
      coefficients(backend, simd.heapF64(s, 2 * c), m, gamma, rstd, dgamma, dbeta),
    );
    simd.k.bn_grad_apply(dz, at(xhat), m, c, coef, coef + 4 * c, coef + 8 * c, at(dx));
    if (dbias) {
      simd.heapF64(s, 2 * c).fill(0);
      simd.k.moments(at(dx), at(dx), zero, m, c, s, s + 8 * c);
      heap(backend, dbias).set(simd.heapF64(s, c));
    }
    return outs;
  }
  const dyv = heap(backend, dy), hv = heap(backend, xhat), yv = relu ? heap(backend, y!) : undefined;
  const dz = (i: number) => (yv && !(yv[i] > 0) ? 0 : dyv[i]);
  const sums = new Float64Array(2 * c); // sum of dz, then of dz * xhat
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const d = dz(i + k);
      sums[k] += d;
      sums[c + k] += d * hv[i + k];
    }
  }
  const k3 = coefficients(backend, sums, m, gamma, rstd, dgamma, dbeta), dxv = heap(backend, dx);
  const sx = new Float64Array(c);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      dxv[i + k] = k3[k] * (dz(i + k) - k3[c + k] - hv[i + k] * k3[2 * c + k]);
      sx[k] += dxv[i + k];
    }
  }
  if (dbias) heap(backend, dbias).set(sx);
  return outs;
}

/** Register the batch-norm kernels for "wasm" (idempotent). */
export function registerBatchNormKernels(): void {
  if (tf.getKernel(BN_FORWARD, "wasm")) return;
  const kernels = {
    [BN_FORWARD]: forward,
    [BN_GRAD]: grad,
    [BN_POOL_FORWARD]: poolForward,
    [BN_POOL_GRAD]: poolGrad,
  };
  for (const [kernelName, f] of Object.entries(kernels)) {
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: f as unknown as tf.KernelFunc });
  }
}

/** True when the active backend has the fused batch-norm kernels. */
export function hasBatchNormKernels(): boolean {
  return tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;
}

// Training-mode batch norm as two wasm kernels (forward and gradient), each
// two passes over the heap. Built from tf ops the same work took ~45% of a
// training step (a dozen elementwise ops and reductions with broadcasting).
// Layout: channels last; statistics over every other axis.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { simdFor } from "./simd.ts";

export const BN_FORWARD = "SiameseBatchNormTrain";
export const BN_GRAD = "SiameseBatchNormTrainGrad";

type Info = tf.TensorInfo;
const heap = (b: BackendWasm, t: Info) => b.typedArrayFromHeap(t) as Float32Array;

/** x, gamma, beta -> y, xhat, mean, variance (biased), rstd. */
function forward(
  args: { inputs: { x: Info; gamma: Info; beta: Info }; backend: BackendWasm; attrs: unknown },
) {
  const { inputs: { x, gamma, beta }, backend } = args;
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const c = x.shape[x.shape.length - 1], total = x.shape.reduce((a, b) => a * b, 1), m = total / c;
  const y = backend.makeOutput(x.shape, "float32"), xhat = backend.makeOutput(x.shape, "float32");
  const mean = backend.makeOutput([c], "float32"), variance = backend.makeOutput([c], "float32");
  const rstd = backend.makeOutput([c], "float32");
  if (c % 4 === 0 && m > 0) {
    // SIMD: float64 sums of the shifted values, per-channel scalars here.
    const simd = simdFor(backend), s = simd.scratch(16 * c), xAt = simd.addr(x.dataId);
    simd.heapF64(s, 2 * c).fill(0);
    simd.k.moments(xAt, xAt, xAt, m, c, s, s + 8 * c);
    const sums = simd.heapF64(s, 2 * c), shift = heap(backend, x).subarray(0, c);
    const mv = heap(backend, mean), vv = heap(backend, variance), rv = heap(backend, rstd);
    for (let k = 0; k < c; k++) {
      const md = sums[k] / m;
      mv[k] = shift[k] + md;
      vv[k] = Math.max(0, sums[c + k] / m - md * md);
      rv[k] = 1 / Math.sqrt(vv[k] + eps);
    }
    const at = (t: Info) => simd.addr(t.dataId);
    simd.k.bn_apply(xAt, m, c, at(mean), at(rstd), at(gamma), at(beta), at(y), at(xhat));
    return [y, xhat, mean, variance, rstd];
  }
  const xv = heap(backend, x), g = heap(backend, gamma), b = heap(backend, beta);
  // One pass for both moments, in float64 and shifted by the first row so
  // that E[x^2] - E[x]^2 does not cancel catastrophically.
  const s1 = new Float64Array(c), s2 = new Float64Array(c), shift = Float64Array.from(xv.subarray(0, c));
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const d = xv[i + k] - shift[k];
      s1[k] += d;
      s2[k] += d * d;
    }
  }
  const mv = heap(backend, mean), vv = heap(backend, variance), rv = heap(backend, rstd);
  for (let k = 0; k < c; k++) {
    const md = s1[k] / m;
    mv[k] = shift[k] + md;
    vv[k] = Math.max(0, s2[k] / m - md * md);
    rv[k] = 1 / Math.sqrt(vv[k] + eps);
  }
  const yv = heap(backend, y), hv = heap(backend, xhat);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      const h = (xv[i + k] - mv[k]) * rv[k];
      hv[i + k] = h;
      yv[i + k] = h * g[k] + b[k];
    }
  }
  return [y, xhat, mean, variance, rstd];
}

/** dy, xhat, gamma, rstd -> dx, dgamma, dbeta. */
function grad(args: { inputs: { dy: Info; xhat: Info; gamma: Info; rstd: Info }; backend: BackendWasm }) {
  const { inputs: { dy, xhat, gamma, rstd }, backend } = args;
  const c = dy.shape[dy.shape.length - 1], total = dy.shape.reduce((a, b) => a * b, 1), m = total / c;
  const dx = backend.makeOutput(dy.shape, "float32");
  const dgamma = backend.makeOutput([c], "float32"), dbeta = backend.makeOutput([c], "float32");
  if (c % 4 === 0 && m > 0) {
    // SIMD: float64 sums of dy and dy * xhat, per-channel scalars here.
    const simd = simdFor(backend), s = simd.scratch(32 * c), at = (t: Info) => simd.addr(t.dataId);
    const zero = s + 16 * c, coef = s + 20 * c;
    simd.heapF64(s, 2 * c).fill(0);
    simd.heapF32(zero, c).fill(0);
    simd.k.moments(at(dy), at(xhat), zero, m, c, s, s + 8 * c);
    const sums = simd.heapF64(s, 2 * c), k3 = simd.heapF32(coef, 3 * c);
    const g = heap(backend, gamma),
      r = heap(backend, rstd),
      dg = heap(backend, dgamma),
      db = heap(backend, dbeta);
    for (let k = 0; k < c; k++) {
      db[k] = sums[k];
      dg[k] = sums[c + k];
      k3[k] = g[k] * r[k];
      k3[c + k] = sums[k] / m;
      k3[2 * c + k] = sums[c + k] / m;
    }
    simd.k.bn_grad_apply(at(dy), at(xhat), m, c, coef, coef + 4 * c, coef + 8 * c, at(dx));
    return [dx, dgamma, dbeta];
  }
  const dyv = heap(backend, dy), hv = heap(backend, xhat), g = heap(backend, gamma), r = heap(backend, rstd);
  const sb = new Float64Array(c), sg = new Float64Array(c);
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) {
      sb[k] += dyv[i + k];
      sg[k] += dyv[i + k] * hv[i + k];
    }
  }
  const dxv = heap(backend, dx), dg = heap(backend, dgamma), db = heap(backend, dbeta);
  const scale = new Float32Array(c), mb = new Float32Array(c), mg = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    dg[k] = sg[k];
    db[k] = sb[k];
    scale[k] = g[k] * r[k];
    mb[k] = sb[k] / m;
    mg[k] = sg[k] / m;
  }
  for (let i = 0; i < total; i += c) {
    for (let k = 0; k < c; k++) dxv[i + k] = scale[k] * (dyv[i + k] - mb[k] - hv[i + k] * mg[k]);
  }
  return [dx, dgamma, dbeta];
}

/** Register both kernels for "wasm" (idempotent). */
export function registerBatchNormKernels(): void {
  if (tf.getKernel(BN_FORWARD, "wasm")) return;
  tf.registerKernel({
    kernelName: BN_FORWARD,
    backendName: "wasm",
    kernelFunc: forward as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: BN_GRAD,
    backendName: "wasm",
    kernelFunc: grad as unknown as tf.KernelFunc,
  });
}

/** True when the active backend has the fused batch-norm kernels. */
export function hasBatchNormKernels(): boolean {
  return tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;
}

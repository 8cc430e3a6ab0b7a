// A fused Adam update (kernel ADAM_UPDATE): one SIMD pass over a variable's
// value, gradient and moments.
import { simdFor } from "../../shared/kernels/simd.ts";
import type { Args, Info } from "./common.ts";

export const ADAM_UPDATE = "SiameseAdamUpdate";

/**
 * One Adam step of a variable as one pass: value, gradient, m, v -> new
 * value, m, v (attrs: beta1, beta2, epsilon, lr and the bias corrections
 * c1 = 1 - beta1^t, c2 = 1 - beta2^t, as tfjs's AdamOptimizer computes them).
 */
export function adamUpdate(args: Args<{ value: Info; gradient: Info; m: Info; v: Info }>): Info[] {
  const { inputs: { value, gradient, m, v }, backend } = args;
  const a = args.attrs as {
    beta1: number;
    beta2: number;
    epsilon: number;
    lr: number;
    c1: number;
    c2: number;
  };
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const n = value.shape.reduce((x, y) => x * y, 1);
  if (n === 0) return outs;
  const simd = simdFor(backend), k = simd.scratch(32);
  simd.heapF32(k, 8).set([a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, -a.lr]);
  const at = (t: Info) => simd.addr(t.dataId);
  simd.k.adam(at(value), at(gradient), at(m), at(v), n, k, at(outs[0]), at(outs[1]), at(outs[2]));
  return outs;
}

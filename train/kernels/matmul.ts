// BatchMatMul (float32, any transposition, broadcast batch) on the packed
// SIMD GEMM; other dtypes go to the backend's own kernel.
import * as tf from "@tensorflow/tfjs";
import { heap, simdFor } from "../../shared/kernels/simd.ts";
import type { Args, Info } from "./common.ts";

/**
 * BatchMatMul (float32, any transposition, broadcast batch) on the SIMD GEMM:
 * operands are packed from their strides, so a transpose costs nothing extra.
 * (XNNPACK's path takes only the plain layout and the backend's transposed
 * path is a scalar loop.) Other dtypes go to the original kernel (null).
 */
export function batchMatMul(args: Args<{ a: Info; b: Info }>): Info | null {
  const { inputs: { a, b }, backend } = args;
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return null;
  }
  // Leading axes are one batch axis (tf.matMul broadcasts only a batch of 1).
  const as3 = (s: number[]) => [s.slice(0, -2).reduce((x, y) => x * y, 1), ...s.slice(-2)];
  const [ba, a1, a2] = as3(a.shape), [bb, b1, b2] = as3(b.shape);
  const [m, k] = attrs.transposeA ? [a2, a1] : [a1, a2];
  const [k2, n] = attrs.transposeB ? [b2, b1] : [b1, b2];
  if (k !== k2 || (ba !== bb && ba !== 1 && bb !== 1)) {
    throw new Error(`BatchMatMul: incompatible shapes [${a.shape}] and [${b.shape}]`);
  }
  const batch = Math.max(ba, bb);
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = backend.makeOutput([...outer, m, n], "float32");
  if (m * n === 0) return out;
  if (k === 0) {
    heap(backend, out).fill(0);
    return out;
  }
  const simd = simdFor(backend);
  const aAt = simd.addr(a.dataId), bAt = simd.addr(b.dataId), cAt = simd.addr(out.dataId);
  // Byte strides of A's rows and columns (and of B's), after transposition.
  const [ars, acs] = attrs.transposeA ? [4, 4 * a2] : [4 * a2, 4];
  const [brs, bcs] = attrs.transposeB ? [4, 4 * b2] : [4 * b2, 4];
  for (let i = 0; i < batch; i++) {
    simd.matmul(
      aAt + (ba === 1 ? 0 : 4 * i * a1 * a2),
      ars,
      acs,
      bAt + (bb === 1 ? 0 : 4 * i * b1 * b2),
      brs,
      bcs,
      cAt + 4 * i * m * n,
      m,
      n,
      k,
    );
  }
  return out;
}

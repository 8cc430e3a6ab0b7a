// SplitV (float32) as copies within the heap: the backend's own slices each
// output out of a fresh JavaScript copy of the whole input (readSync), which
// for the seed's [2B, 500] embeddings is garbage the collector then pays for.
import * as tf from "@tensorflow/tfjs";
import { heap } from "../../shared/kernels/simd.ts";
import type { Args, Info } from "./common.ts";

/** SplitV along any axis, float32; other dtypes go to the backend's own kernel (null). */
export function splitV(args: Args<{ x: Info }>): Info[] | null {
  const { inputs: { x }, backend } = args;
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  if (x.dtype !== "float32") return null;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, ax)),
    inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
  const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === ax ? s : d)), "float32"));
  const from = heap(backend, x), row = x.shape[ax] * inner; // views after the last allocation
  let at = 0;
  outs.forEach((out, k) => {
    const to = heap(backend, out), chunk = sizes[k] * inner;
    for (let r = 0; r < outer; r++) to.set(from.subarray(r * row + at, r * row + at + chunk), r * chunk);
    at += chunk;
  });
  return outs;
}

// Conv2D (NHWC, float32, no dilation) as an indirect GEMM over an explicitly
// padded copy of the input (no im2col); anything else to the backend's own.
import * as tf from "@tensorflow/tfjs";
import { heap, simdFor } from "../../shared/kernels/simd.ts";
import { type Args, type ConvAttrs, type Info, paddedInput } from "./common.ts";

/**
 * Conv2D (NHWC, float32, no dilation) as an indirect GEMM over the padded
 * input: every output pixel's window is read in place, no im2col. Anything
 * else goes to the backend's own kernel (null).
 */
export function conv2D(args: Args<{ x: Info; filter: Info }>): Info | null {
  const { inputs: { x, filter }, backend } = args;
  const attrs = args.attrs as ConvAttrs & { dilations: number | [number, number] };
  const dil = typeof attrs.dilations === "number" ? [attrs.dilations] : attrs.dilations ?? [1];
  if (attrs.dataFormat !== "NHWC" || dil.some((d) => d !== 1) || x.dtype !== "float32") {
    return null;
  }
  const [kh, kw, ci, co] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, co], "float32");
  const pixels = info.batchSize * info.outHeight * info.outWidth, k = kh * kw * ci;
  if (pixels * co === 0) return out;
  if (k === 0) {
    heap(backend, out).fill(0);
    return out;
  }
  const simd = simdFor(backend);
  const { s, geo, offs, xp, rest: packedB } = paddedInput(simd, x, info, k, 32 * Math.ceil(co / 8) * k);
  simd.k.pack_b(simd.addr(filter.dataId), 4 * co, 4, k, co, packedB);
  simd.k.conv_gemm(
    xp,
    geo,
    offs,
    k,
    packedB,
    co,
    simd.addr(out.dataId),
    4 * co,
    0,
    pixels,
    s,
    ci % 4 === 0 ? 1 : 0,
  );
  return out;
}

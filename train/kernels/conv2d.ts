// Conv2D (NHWC, float32, no dilation) as an indirect GEMM over an explicitly
// padded copy of the input (no im2col), or for 3x3 "same" convolutions with
// channels to vectorise over, Winograd F(2x2, 3x3) as inference runs it;
// anything else to the backend's own.
import * as tf from "@tensorflow/tfjs";
import { heap, type Simd, simdFor } from "../../shared/kernels/simd.ts";
import { winogradFilter } from "../../shared/kernels/infer.ts";
import { type Args, type ConvAttrs, type Info, paddedInput, takesWinograd, winogradTiles } from "./common.ts";

/**
 * Winograd F(2x2, 3x3) into `out`: the filter transformed (G g G^T) and
 * packed, then per group of images the input tiles transformed
 * (winogradTiles), 16 GEMMs of [tiles, ci] x [ci, co] and the output
 * transform (wino_out). 2.25x fewer multiplications than the direct
 * convolution.
 */
function winograd(simd: Simd, x: Info, filter: Info, info: tf.backend_util.Conv2DInfo, out: Info) {
  const { inChannels: ci, outChannels: co } = info, panel = 32 * Math.ceil(co / 8) * ci;
  const w = winogradTiles(simd, x, info, 16 * panel + 16 * ci * co * 4);
  const packed = w.rest, staged = packed + 16 * panel;
  // Views after the last allocation (winogradTiles' scratch may grow the heap).
  const fv = heap(simd.backend, filter), uv = simd.heapF32(staged, 16 * ci * co);
  const g = new Float64Array(9), u = new Float64Array(16), t = new Float64Array(12);
  for (let i = 0; i < ci; i++) {
    for (let o = 0; o < co; o++) {
      for (let k = 0; k < 9; k++) g[k] = fv[(k * ci + i) * co + o];
      winogradFilter(g, u, t);
      for (let pos = 0; pos < 16; pos++) uv[pos * ci * co + i * co + o] = u[pos];
    }
  }
  for (let pos = 0; pos < 16; pos++) {
    simd.k.pack_b(staged + 4 * pos * ci * co, 4 * co, 4, ci, co, packed + pos * panel);
  }
  const outAt = simd.addr(out.dataId);
  w.eachGroup((t0, tiles) => {
    for (let pos = 0; pos < 16; pos++) {
      simd.k.conv_gemm(
        w.v + 4 * pos * tiles * ci,
        w.geo,
        w.offs,
        ci,
        packed + pos * panel,
        co,
        w.m + 4 * pos * tiles * co,
        4 * co,
        0,
        tiles,
        w.s,
        1,
      );
    }
    simd.k.wino_out(w.m, tiles, co, w.tps, t0, outAt);
  });
}

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
  if (takesWinograd(info)) {
    winograd(simd, x, filter, info, out);
    return out;
  }
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

// Conv2D (NHWC, float32, no dilation) as an indirect GEMM over an explicitly
// padded copy of the input (no im2col), or for 3x3 "same" convolutions with
// channels to vectorise over, Winograd F(2x2, 3x3) as inference runs it;
// anything else to the backend's own.
import * as tf from "@tensorflow/tfjs";
import { heap, type Simd, simdFor, tapOffsets } from "../../shared/kernels/simd.ts";
import { winogradFilter } from "../../shared/kernels/infer.ts";
import { type Args, type ConvAttrs, type Info, paddedInput } from "./common.ts";

/** Bytes of transformed tiles and their products a Winograd pass keeps (so they stay in cache). */
const WINO_BYTES = 512 * 1024;

/**
 * Images per Winograd pass over `info`'s convolution: its transformed input
 * and output tiles within WINO_BYTES, and at most 1,024 tiles (the filter
 * gradient's float32 partial sums run over one pass).
 */
export function winogradGroup(info: tf.backend_util.Conv2DInfo): number {
  const tiles = (info.outHeight / 2) ** 2, perImage = 16 * tiles * 4 * (info.inChannels + info.outChannels);
  return Math.max(1, Math.min(info.batchSize, Math.floor(WINO_BYTES / perImage), Math.floor(1024 / tiles)));
}

/** Whether a convolution of this geometry runs as Winograd F(2x2, 3x3). */
export function takesWinograd(info: tf.backend_util.Conv2DInfo): boolean {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  return kh === 3 && kw === 3 && sh === 1 && sw === 1 && p.top === 1 && p.bottom === 1 && p.left === 1 &&
    p.right === 1 && info.outHeight === info.outWidth && info.outHeight % 2 === 0 &&
    info.inChannels % 4 === 0 && info.outChannels % 4 === 0;
}

/**
 * Winograd F(2x2, 3x3) into `out`: the filter transformed (G g G^T) and
 * packed, then per group of images the 4x4 input tiles transformed
 * (wino_in), 16 GEMMs of [tiles, ci] x [ci, co] (conv_gemm over a one-row
 * "image" of tiles with 1x1 taps) and the output transform (wino_out).
 * 2.25x fewer multiplications than the direct convolution.
 */
function winograd(simd: Simd, x: Info, filter: Info, info: tf.backend_util.Conv2DInfo, out: Info) {
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: side } = info;
  const tps = side / 2, wp = side + 2, group = winogradGroup(info);
  const tilesMax = group * tps * tps, panel = 32 * Math.ceil(co / 8) * ci;
  const u = 16 * ci * co * 4, v = 16 * tilesMax * ci * 4, m = 16 * tilesMax * co * 4;
  const { s, geo, offs, xp, rest } = paddedInput(simd, x, info, 9 * ci, 16 * panel + u + v + m);
  const packed = rest, staged = packed + 16 * panel, vAt = staged + u, mAt = vAt + v;
  // Views after the last allocation (paddedInput's scratch may grow the heap).
  const fv = heap(simd.backend, filter), uv = simd.heapF32(staged, 16 * ci * co);
  const g = new Float64Array(9), w = new Float64Array(16), t = new Float64Array(12);
  for (let i = 0; i < ci; i++) {
    for (let o = 0; o < co; o++) {
      for (let k = 0; k < 9; k++) g[k] = fv[(k * ci + i) * co + o];
      winogradFilter(g, w, t);
      for (let pos = 0; pos < 16; pos++) uv[pos * ci * co + i * co + o] = w[pos];
    }
  }
  for (let pos = 0; pos < 16; pos++) {
    simd.k.pack_b(staged + 4 * pos * ci * co, 4 * co, 4, ci, co, packed + pos * panel);
  }
  simd.heapI32(offs, ci).set(tapOffsets(1, 1, ci, 1));
  const outAt = simd.addr(out.dataId);
  for (let i0 = 0; i0 < n; i0 += group) {
    const tiles = Math.min(group, n - i0) * tps * tps;
    simd.heapI32(geo, 7).set([1, tiles, ci, 1, tiles, 1, 1]);
    simd.k.wino_in(xp + 4 * i0 * wp * wp * ci, Math.min(group, n - i0), wp, ci, vAt);
    for (let pos = 0; pos < 16; pos++) {
      simd.k.conv_gemm(
        vAt + 4 * pos * tiles * ci,
        geo,
        offs,
        ci,
        packed + pos * panel,
        co,
        mAt + 4 * pos * tiles * co,
        4 * co,
        0,
        tiles,
        s,
        1,
      );
    }
    simd.k.wino_out(mAt, tiles, co, tps, i0 * tps * tps, outAt);
  }
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

// Conv2DBackpropFilter (the filter gradient; tfjs-backend-wasm 4.22 has none,
// tfjs issue 8474): SIMD tiles of taps x output channels, no im2col.
import * as tf from "@tensorflow/tfjs";
import { heap, simdFor } from "../../shared/kernels/simd.ts";
import { type Args, checkFormat, type ConvAttrs, type Info, paddedInput } from "./common.ts";

/**
 * Pixels per call of the filter-gradient kernel: its float32 sums run over at
 * most this many pixels before they are added into dW (block sizes from 128
 * to 1,024 ran equally fast).
 */
const PIXEL_BLOCK = 1024;

/**
 * dW[kh,kw,ci,co] = sum over n,y,x of xpad[n, y*s+kh, x*s+kw, ci] * dy[n,y,x,co],
 * with no im2col: tiles of 4 taps x 8 channels walk the output pixels,
 * reading the padded input in place and dy's rows (copied with their rows
 * zero-padded to a multiple of 8 channels when co is not one).
 */
export function conv2DBackpropFilter(args: Args<{ x: Info; dy: Info }>): Info {
  const { inputs: { x, dy }, backend } = args;
  const attrs = args.attrs as ConvAttrs & {
    filterShape: [number, number, number, number];
  };
  checkFormat("Conv2DBackpropFilter", attrs);
  const [kh, kw, ci, co] = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const rows = kh * kw * ci, pixels = info.batchSize * info.outHeight * info.outWidth;
  const out = backend.makeOutput([kh, kw, ci, co], "float32");
  if (pixels === 0) {
    heap(backend, out).fill(0);
    return out;
  }
  const simd = simdFor(backend), co8 = 8 * Math.ceil(co / 8);
  const padded = co8 === co ? 0 : 4 * pixels * co8;
  const { s, geo, offs, xp, rest } = paddedInput(simd, x, info, 4 * Math.ceil(rows / 4), padded);
  let dyAt = simd.addr(dy.dataId);
  if (padded) {
    const from = heap(backend, dy), to = simd.heapF32(rest, pixels * co8).fill(0);
    for (let p = 0; p < pixels; p++) to.set(from.subarray(p * co, (p + 1) * co), p * co8);
    dyAt = rest;
  }
  const outAt = simd.addr(out.dataId);
  for (let p0 = 0; p0 < pixels; p0 += PIXEL_BLOCK) {
    const p1 = Math.min(pixels, p0 + PIXEL_BLOCK);
    simd.k.conv_dw(
      xp,
      geo,
      offs,
      dyAt,
      4 * co8,
      co,
      outAt,
      rows,
      p0,
      p1,
      p0 > 0 ? 1 : 0,
      s,
      ci % 4 === 0 ? 1 : 0,
    );
  }
  return out;
}

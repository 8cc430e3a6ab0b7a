// Conv2DBackpropFilter (the filter gradient; tfjs-backend-wasm 4.22 has none,
// tfjs issue 8474): SIMD tiles of taps x output channels, no im2col; where
// Conv2D runs as Winograd F(2x2, 3x3), the gradient of that computation.
import * as tf from "@tensorflow/tfjs";
import { heap, type Simd, simdFor } from "../../shared/kernels/simd.ts";
import {
  type Args,
  checkFormat,
  type ConvAttrs,
  type Info,
  paddedInput,
  takesWinograd,
  winogradTiles,
} from "./common.ts";

/**
 * The filter gradient of Winograd F(2x2, 3x3) into `out`: per group of
 * images the input tiles transformed (V = B^T d B, winogradTiles) and dy's 2x2
 * tiles mapped back through the output transform (dM = A dY A^T,
 * wino_dout); for each of the 16 positions dU = V^T dM, summed over the
 * tiles by conv_dw (a one-row "image" of tiles, 1x1 taps); then
 * dW = G^T dU G for each filter. 2.25x fewer multiplications than the
 * direct gradient.
 */
function winograd(simd: Simd, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo, out: Info) {
  const { inChannels: ci, outChannels: co } = info;
  const w = winogradTiles(simd, x, info, 16 * ci * co * 4);
  const duAt = w.rest, dyAt = simd.addr(dy.dataId);
  w.eachGroup((t0, tiles) => {
    simd.k.wino_dout(dyAt, tiles, co, w.tps, t0, w.m);
    for (let pos = 0; pos < 16; pos++) {
      simd.k.conv_dw(
        w.v + 4 * pos * tiles * ci,
        w.geo,
        w.offs,
        w.m + 4 * pos * tiles * co,
        4 * co,
        co,
        duAt + 4 * pos * ci * co,
        ci,
        0,
        tiles,
        t0 > 0 ? 1 : 0,
        w.s,
        1,
      );
    }
  });
  // dW = G^T dU G, G = [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]: rows, then columns.
  const du = simd.heapF32(duAt, 16 * ci * co), dw = heap(simd.backend, out), f = ci * co;
  const p = new Float64Array(12);
  for (let e = 0; e < f; e++) {
    for (let j = 0; j < 4; j++) {
      const u0 = du[j * f + e], u1 = du[(4 + j) * f + e], u2 = du[(8 + j) * f + e], u3 = du[(12 + j) * f + e];
      p[j] = u0 + 0.5 * u1 + 0.5 * u2;
      p[4 + j] = 0.5 * u1 - 0.5 * u2;
      p[8 + j] = 0.5 * u1 + 0.5 * u2 + u3;
    }
    for (let a = 0; a < 3; a++) {
      const [q0, q1, q2, q3] = [p[4 * a], p[4 * a + 1], p[4 * a + 2], p[4 * a + 3]];
      dw[(3 * a) * f + e] = q0 + 0.5 * q1 + 0.5 * q2;
      dw[(3 * a + 1) * f + e] = 0.5 * q1 - 0.5 * q2;
      dw[(3 * a + 2) * f + e] = 0.5 * q1 + 0.5 * q2 + q3;
    }
  }
}

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
  if (takesWinograd(info) && co % 8 === 0) {
    winograd(simd, x, dy, info, out);
    return out;
  }
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

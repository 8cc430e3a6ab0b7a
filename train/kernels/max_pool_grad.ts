// MaxPoolGrad in one pass over the heap, each gradient to its window's first
// maximum (the backend's own kernel is slow and differs from cpu on padding).
import * as tf from "@tensorflow/tfjs";
import { heap } from "../../shared/kernels/simd.ts";
import type { Args, Info, Pad } from "./common.ts";

/**
 * MaxPoolGrad as one pass over the heap: each output's gradient goes to the
 * first maximum of its (padding-clipped) window, as TensorFlow does. The
 * wasm backend's own kernel is slow and disagrees with cpu on padded windows.
 */
export function maxPoolGrad(args: Args<{ dy: Info; input: Info }>): Info {
  const { inputs: { dy, input }, backend } = args;
  const attrs = args.attrs as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: Pad;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad as "same",
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const dx = backend.makeOutput(input.shape, "float32");
  const dxv = heap(backend, dx), xv = heap(backend, input), dyv = heap(backend, dy);
  dxv.fill(0);
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && h === 2 * oh) {
    maxPoolGrad2x2(xv, dyv, dxv, n * oh, ow, c, w * c);
    return dx;
  }
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      const y0 = Math.max(0, y * sh - top), y1 = Math.min(h, y * sh - top + fh);
      for (let x = 0; x < ow; x++) {
        const x0 = Math.max(0, x * sw - left), x1 = Math.min(w, x * sw - left + fw);
        for (let ch = 0; ch < c; ch++, o++) {
          let best = -1, m = -Infinity;
          for (let yy = y0; yy < y1; yy++) {
            for (let xx = x0; xx < x1; xx++) {
              const i = ((b * h + yy) * w + xx) * c + ch;
              if (xv[i] > m || best < 0) {
                m = xv[i];
                best = i;
              }
            }
          }
          if (best >= 0) dxv[best] += dyv[o];
        }
      }
    }
  }
  return dx;
}

/** The common 2x2/2 unpadded case without window clipping (rows: n*oh). */
function maxPoolGrad2x2(
  xv: Float32Array,
  dyv: Float32Array,
  dxv: Float32Array,
  rows: number,
  ow: number,
  c: number,
  row: number,
) {
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < ow; x++) {
      const base = 2 * r * row + 2 * x * c;
      for (let ch = 0; ch < c; ch++, o++) {
        let best = base + ch, m = xv[best];
        const i1 = best + c, i2 = best + row, i3 = best + row + c;
        if (xv[i1] > m) m = xv[best = i1];
        if (xv[i2] > m) m = xv[best = i2];
        if (xv[i3] > m) best = i3;
        dxv[best] += dyv[o];
      }
    }
  }
}

// Conv2DBackpropInput (the input gradient, stride 1): the Conv2D of dy with
// the filter rotated 180 degrees and its channel axes swapped.
import * as tf from "@tensorflow/tfjs";
import { heap } from "../../shared/kernels/simd.ts";
import { type Args, type ConvAttrs, type Info, kernel, type Pad } from "./common.ts";

/**
 * The input gradient at stride 1 as that Conv2D (the registered one), with
 * the complementary padding. NCHW and other strides go to the backend's own
 * kernel (null).
 */
export function conv2DBackpropInput(args: Args<{ dy: Info; filter: Info }>): Info | null {
  const { inputs: { dy, filter }, backend } = args;
  const attrs = args.attrs as ConvAttrs & {
    inputShape: [number, number, number, number];
  };
  const [kh, kw, ci, co] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat === "NCHW" ? "channelsFirst" : "channelsLast",
  );
  if (attrs.dataFormat !== "NHWC" || info.strideHeight !== 1 || info.strideWidth !== 1) {
    return null;
  }
  // Rotated, transposed filter: g[a,b,o,i] = f[kh-1-a, kw-1-b, i, o].
  const g = backend.makeOutput([kh, kw, co, ci], "float32");
  const gv = heap(backend, g), fv = heap(backend, filter);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const src = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      const dst = (a * kw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) gv[dst + o * ci + i] = fv[src + i * co + o];
      }
    }
  }
  const p = info.padInfo;
  const pad: Pad = [[0, 0], [kh - 1 - p.top, kh - 1 - p.bottom], [
    kw - 1 - p.left,
    kw - 1 - p.right,
  ], [0, 0]];
  const out = kernel("Conv2D")({
    inputs: { x: dy, filter: g },
    backend,
    attrs: { strides: 1, pad, dataFormat: "NHWC", dilations: 1 },
  }) as Info;
  backend.disposeData(g.dataId);
  return out;
}

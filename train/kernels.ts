// Fast gradient kernels for the wasm backend, built on XNNPACK-backed kernels.
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (tfjs issue 8474) and its
// Conv2DBackpropInput is a scalar loop. Both are rebuilt here:
// - filter gradient: im2col written transposed ([kh*kw*ci, N*oh*ow], a JS loop
//   over the wasm heap) times dy ([N*oh*ow, co]) in one BatchMatMul;
// - input gradient (stride 1): a forward Conv2D of dy with the filter rotated
//   180 degrees and its channel axes swapped, with the complementary padding.
// Anything else (NCHW, dilations, strided input gradients) goes to a correct
// fallback or throws a clear error; never a silently wrong result.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerBatchNormKernels } from "./bn_kernels.ts";

type Info = tf.TensorInfo;
type Pad = "valid" | "same" | number | [[number, number], [number, number], [
  number,
  number,
], [number, number]];
interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function kernel(name: string) {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`Cannot build gradient kernels: wasm lacks "${name}"`);
  return k.kernelFunc;
}

function heap(backend: BackendWasm, t: Info): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

function checkFormat(name: string, attrs: ConvAttrs) {
  if (attrs.dataFormat !== "NHWC") {
    throw new Error(
      `Cannot run ${name} on wasm: dataFormat "${attrs.dataFormat}" is not supported (NHWC only)`,
    );
  }
}

/** dW[kh,kw,ci,co] = sum over n,y,x of xpad[n, y*s+kh, x*s+kw, ci] * dy[n,y,x,co]. */
function conv2DBackpropFilter(
  args: { inputs: { x: Info; dy: Info }; backend: BackendWasm; attrs: unknown },
): Info {
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
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const k = n * oh * ow, m = kh * kw * ci;
  const cols = backend.makeOutput([1, m, k], "float32");
  const colv = heap(backend, cols);
  const xv = heap(backend, x);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      // Output columns whose input column is inside the image: [x0, x1).
      const x0 = Math.min(ow, Math.max(0, Math.ceil((left - b) / sw)));
      const x1 = Math.max(x0, Math.min(ow, Math.floor((w - 1 + left - b) / sw) + 1));
      for (let c = 0; c < ci; c++) {
        let o = ((a * kw + b) * ci + c) * k;
        for (let bn = 0; bn < n; bn++) {
          const base = bn * h * w * ci + c;
          for (let y = 0; y < oh; y++, o += ow) {
            const iy = y * sh + a - top;
            if (iy < 0 || iy >= h) {
              colv.fill(0, o, o + ow);
              continue;
            }
            if (x0 > 0) colv.fill(0, o, o + x0);
            if (x1 < ow) colv.fill(0, o + x1, o + ow);
            const step = sw * ci;
            let src = base + iy * w * ci + (x0 * sw + b - left) * ci;
            for (let xx = x0; xx < x1; xx++, src += step) colv[o + xx] = xv[src];
          }
        }
      }
    }
  }
  const dy3: Info = { dataId: dy.dataId, shape: [1, k, co], dtype: "float32" };
  const out = kernel("BatchMatMul")({
    inputs: { a: cols, b: dy3 },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as Info;
  backend.disposeData(cols.dataId);
  return { dataId: out.dataId, shape: [kh, kw, ci, co], dtype: "float32" };
}

function makeInputGrad(fallback: tf.KernelFunc) {
  return function conv2DBackpropInput(
    args: { inputs: { dy: Info; filter: Info }; backend: BackendWasm; attrs: unknown },
  ): Info {
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
      return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
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
  };
}

/**
 * BatchMatMul with transposed operands: XNNPACK only takes the plain layout,
 * and the wasm backend's transposed path is a scalar loop (~13x slower for
 * the dense layer's gradients). Transpose the operand explicitly instead.
 */
function makeMatMul(original: tf.KernelFunc) {
  return function batchMatMul(
    args: { inputs: { a: Info; b: Info }; backend: BackendWasm; attrs: unknown },
  ): Info {
    const { inputs: { a, b }, backend } = args;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!attrs.transposeA && !attrs.transposeB) {
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
    }
    const flip = (t: Info, yes: boolean): Info => {
      if (!yes) return t;
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      return kernel("Transpose")({ inputs: { x: t }, backend, attrs: { perm } }) as Info;
    };
    const a2 = flip(a, attrs.transposeA), b2 = flip(b, attrs.transposeB);
    const out = original(
      {
        inputs: { a: a2, b: b2 },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      } as unknown as Parameters<tf.KernelFunc>[0],
    ) as Info;
    if (a2 !== a) backend.disposeData(a2.dataId);
    if (b2 !== b) backend.disposeData(b2.dataId);
    return out;
  };
}

/**
 * MaxPoolGrad as one pass over the heap: each output's gradient goes to the
 * first maximum of its (padding-clipped) window, as TensorFlow does. The
 * wasm backend's own kernel is slow and disagrees with cpu on padded windows.
 */
function maxPoolGrad(
  args: { inputs: { dy: Info; input: Info }; backend: BackendWasm; attrs: unknown },
): Info {
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

function override(name: string, make: (original: tf.KernelFunc) => unknown) {
  const original = tf.getKernel(name, "wasm");
  if (!original) throw new Error(`Cannot register kernels: wasm lacks "${name}"`);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    kernelFunc: make(original.kernelFunc) as tf.KernelFunc,
  });
}

let registered = false;

/**
 * Register the fast gradient kernels for the "wasm" backend (idempotent).
 * Call after importing "@tensorflow/tfjs-backend-wasm" and before training.
 */
export function registerWasmGradKernels(): void {
  if (registered) return;
  registered = true;
  override("Conv2DBackpropInput", makeInputGrad);
  override("BatchMatMul", makeMatMul);
  override("MaxPoolGrad", () => maxPoolGrad);
  registerBatchNormKernels();
  if (tf.getKernel("Conv2DBackpropFilter", "wasm")) {
    tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
  }
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
  });
}

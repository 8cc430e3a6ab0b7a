// Training kernels for the wasm backend, on the SIMD kernels of simd.wat
// (run in place on the backend's heap).
//
// tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (tfjs issue 8474), its
// Conv2DBackpropInput and transposed BatchMatMul are scalar loops, and its
// Identity copies. Replaced here:
// - BatchMatMul (float32): packed SIMD GEMM, any transposition;
// - Conv2D (NHWC, no dilation): an indirect GEMM over an explicitly padded
//   copy of the input (no im2col);
// - filter gradient: tiles of taps x output channels walking the output
//   pixels, reading the padded input and dy in place (no im2col either);
// - input gradient (stride 1): that Conv2D of dy with the filter rotated 180
//   degrees and its channel axes swapped, with the complementary padding;
// - MaxPoolGrad, Identity (a shared reference), and a fused Adam update.
// Anything else (NCHW, dilations, strided input gradients, other dtypes) goes
// to a correct fallback or throws a clear error; never a silently wrong result.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerBatchNormKernels } from "./batch_norm.ts";
import { heap, type Simd, simdFor, tapOffsets } from "../../shared/kernels/simd.ts";

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

function checkFormat(name: string, attrs: ConvAttrs) {
  if (attrs.dataFormat !== "NHWC") {
    throw new Error(
      `Cannot run ${name} on wasm: dataFormat "${attrs.dataFormat}" is not supported (NHWC only)`,
    );
  }
}

/**
 * Scratch for a convolution over x: geometry, the byte offset of each filter
 * tap (a, b, c) from a window's corner (`taps` entries, zero past the
 * filter's), x copied into its explicit padding, then `extra` bytes (rest).
 */
function paddedInput(simd: Simd, x: Info, info: tf.backend_util.Conv2DInfo, taps: number, extra: number) {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, filterHeight: kh, filterWidth: kw } = info;
  const { top, bottom, left, right } = info.padInfo;
  const hp = h + top + bottom, wp = w + left + right, padBytes = 16 * Math.ceil((n * hp * wp * ci) / 4);
  const offsBytes = 16 * Math.ceil(taps / 4);
  const s = simd.scratch(128 + 48 + offsBytes + padBytes + extra);
  const geo = s + 128, offs = geo + 48, xp = offs + offsBytes;
  simd.heapI32(geo, 7).set([hp, wp, ci, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth]);
  simd.heapI32(offs, taps).fill(0).set(tapOffsets(kh, kw, ci, wp));
  simd.k.pad_copy(simd.addr(x.dataId), n, h, w, ci, top, left, hp, wp, xp);
  return { s, geo, offs, xp, rest: xp + padBytes };
}

/**
 * Conv2D (NHWC, float32, no dilation) as an indirect GEMM over the padded
 * input: every output pixel's window is read in place, no im2col. Anything
 * else goes to the backend's own kernel.
 */
function makeConv2D(original: tf.KernelFunc) {
  return function conv2D(
    args: { inputs: { x: Info; filter: Info }; backend: BackendWasm; attrs: unknown },
  ): Info {
    const { inputs: { x, filter }, backend } = args;
    const attrs = args.attrs as ConvAttrs & { dilations: number | [number, number] };
    const dil = typeof attrs.dilations === "number" ? [attrs.dilations] : attrs.dilations ?? [1];
    if (attrs.dataFormat !== "NHWC" || dil.some((d) => d !== 1) || x.dtype !== "float32") {
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
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
  };
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
 * BatchMatMul (float32, any transposition, broadcast batch) on the SIMD GEMM:
 * operands are packed from their strides, so a transpose costs nothing extra.
 * (XNNPACK's path takes only the plain layout and the backend's transposed
 * path is a scalar loop.) Other dtypes go to the original kernel.
 */
function makeMatMul(original: tf.KernelFunc) {
  return function batchMatMul(
    args: { inputs: { a: Info; b: Info }; backend: BackendWasm; attrs: unknown },
  ): Info {
    const { inputs: { a, b }, backend } = args;
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
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

/**
 * Identity as a shared reference (as Reshape already is on wasm, and Identity
 * on cpu): the engine clones every tensor a gradient saves through Identity,
 * and the wasm backend's own kernel copies the data each time.
 */
function makeIdentity(original: tf.KernelFunc) {
  return function identity(args: { inputs: { x: Info }; backend: BackendWasm }): Info {
    const { inputs: { x }, backend } = args;
    if (x.dtype === "string") return original(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

export const ADAM_UPDATE = "SiameseAdamUpdate";

/**
 * One Adam step of a variable as one pass: value, gradient, m, v -> new
 * value, m, v (attrs: beta1, beta2, epsilon, lr and the bias corrections
 * c1 = 1 - beta1^t, c2 = 1 - beta2^t, as tfjs's AdamOptimizer computes them).
 */
function adamUpdate(
  args: { inputs: { value: Info; gradient: Info; m: Info; v: Info }; backend: BackendWasm; attrs: unknown },
): Info[] {
  const { inputs: { value, gradient, m, v }, backend } = args;
  const a = args.attrs as {
    beta1: number;
    beta2: number;
    epsilon: number;
    lr: number;
    c1: number;
    c2: number;
  };
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const n = value.shape.reduce((x, y) => x * y, 1);
  if (n === 0) return outs;
  const simd = simdFor(backend), k = simd.scratch(32);
  simd.heapF32(k, 8).set([a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, -a.lr]);
  const at = (t: Info) => simd.addr(t.dataId);
  simd.k.adam(at(value), at(gradient), at(m), at(v), n, k, at(outs[0]), at(outs[1]), at(outs[2]));
  return outs;
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
  override("Conv2D", makeConv2D);
  override("Conv2DBackpropInput", makeInputGrad);
  override("BatchMatMul", makeMatMul);
  override("MaxPoolGrad", () => maxPoolGrad);
  override("Identity", makeIdentity);
  tf.registerKernel({
    kernelName: ADAM_UPDATE,
    backendName: "wasm",
    kernelFunc: adamUpdate as unknown as tf.KernelFunc,
  });
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

// Helpers shared by the training kernels: types, a kernel lookup, the padded
// input of a convolution, and the override of a wasm kernel with a fallback.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type Simd, tapOffsets } from "../../shared/kernels/simd.ts";

export type Info = tf.TensorInfo;
export type Pad = "valid" | "same" | number | [[number, number], [number, number], [
  number,
  number,
], [number, number]];
export interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}
/** A wasm kernel's arguments, with these inputs. */
export interface Args<I> {
  inputs: I;
  backend: BackendWasm;
  attrs: unknown;
}

export function kernel(name: string) {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`Cannot build gradient kernels: wasm lacks "${name}"`);
  return k.kernelFunc;
}

export function checkFormat(name: string, attrs: ConvAttrs) {
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
export function paddedInput(
  simd: Simd,
  x: Info,
  info: tf.backend_util.Conv2DInfo,
  taps: number,
  extra: number,
) {
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
 * A maker for override(): `fast` where it takes the case, else the backend's
 * own kernel (`fast` returns null for the cases it leaves to it).
 */
export function orOriginal<I, O extends Info | Info[]>(fast: (args: Args<I>) => O | null) {
  return (original: tf.KernelFunc) => (args: Args<I>): O =>
    fast(args) ?? original(args as unknown as Parameters<tf.KernelFunc>[0]) as O;
}

/** Replace the wasm kernel `name` with make(its current kernel function). */
export function override(name: string, make: (original: tf.KernelFunc) => unknown) {
  const original = tf.getKernel(name, "wasm");
  if (!original) throw new Error(`Cannot register kernels: wasm lacks "${name}"`);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    kernelFunc: make(original.kernelFunc) as tf.KernelFunc,
  });
}

// Helpers shared by the training kernels: types, a kernel lookup, the padded
// input of a convolution and its Winograd tiles, and the override of a wasm
// kernel with a fallback.
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

/** Bytes of transformed tiles and their products a Winograd pass keeps (so they stay in cache). */
const WINO_BYTES = 512 * 1024;

/** Whether a convolution of this geometry runs as Winograd F(2x2, 3x3) (Conv2D and its gradients). */
export function takesWinograd(info: tf.backend_util.Conv2DInfo): boolean {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo: p } = info;
  return kh === 3 && kw === 3 && sh === 1 && sw === 1 && p.top === 1 && p.bottom === 1 && p.left === 1 &&
    p.right === 1 && info.outHeight === info.outWidth && info.outHeight % 2 === 0 &&
    info.inChannels % 4 === 0 && info.outChannels % 4 === 0;
}

/**
 * The tiles of Winograd F(2x2, 3x3) over x, shared by the convolution and
 * its filter gradient: x zero-bordered, then per group of images its 4x4
 * tiles transformed (V = B^T d B, wino_in: 16 matrices [tiles, ci] at `v`),
 * with geo and offs set for conv_gemm and conv_dw over a one-row "image" of
 * those tiles with 1x1 taps, and room at `m` for 16 matrices [tiles, co] on
 * the output's side. A group's V and M stay within WINO_BYTES, at most 1,024
 * tiles (the filter gradient's float32 partial sums run over one group).
 * `extra` bytes of scratch follow (rest).
 */
export function winogradTiles(simd: Simd, x: Info, info: tf.backend_util.Conv2DInfo, extra: number) {
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: side } = info;
  const tps = side / 2, wp = side + 2, perImage = 16 * tps * tps * 4 * (ci + co);
  const group = Math.max(1, Math.min(n, Math.floor(WINO_BYTES / perImage), Math.floor(1024 / (tps * tps))));
  const vBytes = 16 * group * tps * tps * ci * 4, mBytes = 16 * group * tps * tps * co * 4;
  // paddedInput writes the 3x3 taps' offsets; the GEMMs over tiles read the first ci, rewritten for 1x1.
  const { s, geo, offs, xp, rest: v } = paddedInput(simd, x, info, 9 * ci, vBytes + mBytes + extra);
  simd.heapI32(offs, ci).set(tapOffsets(1, 1, ci, 1));
  return {
    s,
    geo,
    offs,
    /** Output tiles a side per image. */
    tps,
    v,
    m: v + vBytes,
    rest: v + vBytes + mBytes,
    /** For each group of images: its tiles transformed to v, then fn(its first tile's index, its tiles). */
    eachGroup(fn: (t0: number, tiles: number) => void) {
      for (let i0 = 0; i0 < n; i0 += group) {
        const g = Math.min(group, n - i0), tiles = g * tps * tps;
        simd.heapI32(geo, 7).set([1, tiles, ci, 1, tiles, 1, 1]);
        simd.k.wino_in(xp + 4 * i0 * wp * wp * ci, g, wp, ci, v);
        fn(i0 * tps * tps, tiles);
      }
    },
  };
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

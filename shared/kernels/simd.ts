// The SIMD kernels of simd.wat (assembled into the committed simd.wasm and
// simd_wasm.ts by `deno task build:kernels`), instantiated on the wasm backend's own memory
// for training, plus a GEMM driver on top of them. Inference instantiates
// the same module on a memory of its own (infer.ts).
import type { TensorInfo } from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { SIMD_WASM } from "./simd_wasm.ts";

/** An i32 argument: a byte offset into the kernels' memory, a count or a flag. */
type I = number;

/** The kernels' exports (simd.wat), each argument an i32. */
export interface Exports {
  gemm(ap: I, bp: I, c: I, ldc: I, m: I, n: I, k: I, tmp: I): void;
  pack_a(src: I, rs: I, cs: I, m: I, k: I, dst: I): void;
  pack_b(src: I, rs: I, cs: I, k: I, n: I, dst: I): void;
  scale_packed(p: I, k: I, n: I, s: I): void;
  pad_copy(x: I, n: I, h: I, w: I, c: I, top: I, left: I, hp: I, wp: I, dst: I): void;
  conv_dw(
    xp: I,
    geo: I,
    offs: I,
    dy: I,
    ldd: I,
    co: I,
    c: I,
    rows: I,
    p0: I,
    p1: I,
    acc: I,
    tmp: I,
    vec: I,
  ): void;
  conv_gemm(xp: I, geo: I, offs: I, k: I, bp: I, co: I, c: I, ldc: I, p0: I, p1: I, tmp: I, vec: I): void;
  moments(a: I, b: I, shift: I, rows: I, c: I, s1: I, s2: I): void;
  bn_apply(x: I, rows: I, c: I, mean: I, rstd: I, gamma: I, beta: I, y: I, xhat: I, relu: I): void;
  relu_mask(dy: I, y: I, out: I, n: I): void;
  bn_relu_pool(x: I, rows: I, ow: I, c: I, mean: I, rstd: I, gamma: I, beta: I, out: I): void;
  bn_relu_pool_dz(
    x: I,
    dpool: I,
    dx: I,
    rows: I,
    ow: I,
    c: I,
    mean: I,
    rstd: I,
    gamma: I,
    beta: I,
    s1: I,
    s2: I,
    part: I,
  ): void;
  bn_pool_dx(x: I, dx: I, rows: I, ow: I, c: I, mean: I, rstd: I, k3: I, s1: I, part: I): void;
  bn_grad_apply(dy: I, xhat: I, rows: I, c: I, scale: I, mb: I, mg: I, dx: I): void;
  pool_bias_relu(x: I, rows: I, ow: I, c: I, bias: I, out: I, ldo: I): void;
  bias_act(x: I, rows: I, c: I, bias: I, relu: I): void;
  gemm_rows(a: I, lda: I, bp: I, c: I, ldc: I, m: I, n: I, k: I, tmp: I): void;
  wino_in(xp: I, n: I, wp: I, ci: I, dst: I): void;
  wino_out_pool(m: I, tiles: I, co: I, bias: I, out: I): void;
  wino_out(m: I, tiles: I, co: I, tps: I, t0: I, out: I): void;
  wino_dout(dy: I, tiles: I, co: I, tps: I, t0: I, dst: I): void;
  adam(p: I, g: I, m: I, v: I, n: I, k: I, op: I, om: I, ov: I): void;
}

/** The parts of the backend's Emscripten module used here. */
interface Module {
  asm: { memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(at: number): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * The kernels' module, compiled once per process from simd.wasm's bytes (simd_wasm.ts).
 *
 * @example
 * ```ts
 * import { kernelModule } from "./simd.ts";
 *
 * const names = WebAssembly.Module.exports(kernelModule()).map((e) => e.name);
 * if (!names.includes("gemm") || kernelModule() !== kernelModule()) throw new Error("not compiled once");
 * ```
 */
export function kernelModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(Uint8Array.fromBase64(SIMD_WASM));
}

/**
 * The kernels instantiated on `memory` (which they read and write in place).
 *
 * @example
 * ```ts
 * import { instantiate } from "./simd.ts";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 }), f32 = new Float32Array(memory.buffer);
 * f32.set([-1, 2, -3, 4, 1, 1, 1, 1]); // x [1, 4] at byte 0, a bias [4] at byte 16
 * instantiate(memory).bias_act(0, 1, 4, 16, 1); // x = relu(x + bias), in place
 * if (f32.subarray(0, 4).join() !== "0,3,0,5") throw new Error(`${f32.subarray(0, 4)}`);
 * ```
 */
export function instantiate(memory: WebAssembly.Memory): Exports {
  return new WebAssembly.Instance(kernelModule(), { env: { mem: memory } }).exports as unknown as Exports;
}

/**
 * The kernels bound to a backend's heap, with a growable scratch area on it:
 * what training's kernels (train/kernels/) run tensors through, in place.
 * Get one with simdFor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { useBackend } from "../backend.ts";
 * import { heap, simdFor } from "./simd.ts";
 *
 * await useBackend("wasm");
 * const backend = tf.backend() as BackendWasm, simd = simdFor(backend);
 * const a = tf.tensor2d([[1, 2], [3, 4]]), c = tf.zeros([2, 2]);
 * const at = simd.addr(a.dataId); // row stride 8 bytes, column stride 4: row-major float32
 * simd.matmul(at, 8, 4, at, 8, 4, simd.addr(c.dataId), 2, 2, 2); // c = a a, written into c's data
 * if (heap(backend, c).join() !== "7,10,15,22") throw new Error(`${heap(backend, c)}`);
 * ```
 */
export class Simd {
  /** The kernels, instantiated on the backend's own memory. */
  readonly k: Exports;
  private readonly module: Module;
  private scratchAt = 0;
  private scratchBytes = 0;

  /** Bind the kernels to `backend` (a second instance per backend only wastes memory: see simdFor). */
  constructor(readonly backend: BackendWasm) {
    this.module = backend.wasm as unknown as Module;
    this.k = instantiate(this.module.asm.memory);
  }

  /** Heap address of a tensor's data. */
  addr(dataId: object): number {
    return this.backend.getMemoryOffset(dataId);
  }

  /** A scratch area of at least `bytes` (16-aligned), valid until the next call. */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchBytes) this.module._free(this.scratchAt);
      this.scratchBytes = Math.max(bytes, this.scratchBytes * 2);
      this.scratchAt = this.module._malloc(this.scratchBytes + 16) >>> 0;
    }
    return (this.scratchAt + 15) & ~15;
  }

  /** `n` int32s of the heap at byte offset `at` (a view, valid until the heap grows). */
  heapI32(at: number, n: number): Int32Array {
    return new Int32Array(this.module.asm.memory.buffer, at, n);
  }

  /** `n` float32s of the heap at byte offset `at` (a view, valid until the heap grows). */
  heapF32(at: number, n: number): Float32Array {
    return new Float32Array(this.module.asm.memory.buffer, at, n);
  }

  /** `n` float64s of the heap at byte offset `at` (a view, valid until the heap grows). */
  heapF64(at: number, n: number): Float64Array {
    return new Float64Array(this.module.asm.memory.buffer, at, n);
  }

  /**
   * C[m,n] = A[m,k] B[k,n] for operands given by address and byte strides
   * (element (r, c) of A at a + r*ars + c*acs), C row-major at c.
   */
  matmul(
    a: number,
    ars: number,
    acs: number,
    b: number,
    brs: number,
    bcs: number,
    c: number,
    m: number,
    n: number,
    k: number,
  ) {
    const ap = 16 * Math.ceil(m / 4) * k, bp = 32 * Math.ceil(n / 8) * k;
    const s = this.scratch(128 + ap + bp);
    this.k.pack_a(a, ars, acs, m, k, s + 128);
    this.k.pack_b(b, brs, bcs, k, n, s + 128 + ap);
    this.k.gemm(s + 128, s + 128 + ap, c, 4 * n, m, n, k, s);
  }
}

/**
 * For conv_gemm and conv_dw: the byte offset of each tap (a, b, c) of a
 * kh x kw x ci filter from its window's corner, in an input wp pixels wide.
 *
 * @example
 * ```ts
 * import { tapOffsets } from "./simd.ts";
 *
 * // A 3x3 one-channel filter over rows 5 pixels wide: 3 floats a row, then the next row 20 bytes on.
 * if (tapOffsets(3, 3, 1, 5).join() !== "0,4,8,20,24,28,40,44,48") throw new Error("offsets");
 * ```
 */
export function tapOffsets(kh: number, kw: number, ci: number, wp: number): Int32Array {
  const o = new Int32Array(kh * kw * ci);
  for (let r = 0; r < o.length; r++) {
    o[r] = 4 * ((Math.floor(r / (kw * ci)) * wp + (Math.floor(r / ci) % kw)) * ci + (r % ci));
  }
  return o;
}

/**
 * A float32 tensor's data on the backend's heap (a view, valid until the heap grows).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { useBackend } from "../backend.ts";
 * import { heap } from "./simd.ts";
 *
 * await useBackend("wasm");
 * const t = tf.tensor1d([1, 2, 3]), view = heap(tf.backend() as BackendWasm, t);
 * view[0] = 10; // writes the tensor itself: no copy
 * if ((await t.data()).join() !== "10,2,3") throw new Error("not a view");
 * ```
 */
export function heap(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

const simds = new WeakMap<BackendWasm, Simd>();

/**
 * The kernels on this backend's heap (one instance per backend).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { useBackend } from "../backend.ts";
 * import { simdFor } from "./simd.ts";
 *
 * await useBackend("wasm");
 * const backend = tf.backend() as BackendWasm;
 * if (simdFor(backend) !== simdFor(backend)) throw new Error("not one instance per backend");
 * ```
 */
export function simdFor(backend: BackendWasm): Simd {
  let s = simds.get(backend);
  if (!s) simds.set(backend, s = new Simd(backend));
  return s;
}

// Inference on the project's own SIMD kernels (simd.wasm), without TF.js:
// `forward` (shared/model.ts) executed on buffers in a WebAssembly memory of
// fixed size, with the weights packed there once and batch norm folded into
// them as they are (each packed column times its factor: scale_packed), so
// that start-up makes no copy of them in JavaScript. Scoring allocates
// nothing and the memory never grows.
//
// A conv block is a zero-bordered copy of its input (pad_copy), then either
// - the convolution as an indirect GEMM over it (conv_gemm: no im2col) and
//   one pass that max-pools, adds the bias and applies ReLU (pool_bias_relu),
//   for the one-channel input; or
// - Winograd F(2x2, 3x3) where the input has channels to vectorise over:
//   4x4 input tiles transformed (wino_in), 16 GEMMs of [tiles, ci] x [ci, co]
//   (2.25x fewer multiplications than the direct convolution), and the
//   output transform, whose 2x2 tiles are exactly the pooling windows, fused
//   with pooling, bias and ReLU (wino_out_pool);
// a dense block packs its input and runs the GEMM, whose weights are read
// once per batch. Channel counts are padded to multiples of 4 with zero weights
// and biases, so every config runs on the vector kernels.
import type { ModelConfig } from "../config.ts";
import { type BnFold, bnFolds, type Executor, forward, tower } from "../model.ts";
import type { ParamMap } from "../params.ts";
import { type Exports, instantiate, tapOffsets } from "./simd.ts";

const up = (x: number, m: number) => Math.ceil(x / m) * m;
const PAGE = 65536;

/**
 * A batch in the kernel memory: n rows of `side` x `side` x c floats (c
 * padded to a multiple of 4, except the one-channel input), or with side 1,
 * n rows of c floats.
 */
export interface Buf {
  at: number;
  n: number;
  side: number;
  c: number;
}

/** A bump allocator over byte offsets, 16-aligned. */
class Layout {
  end = 0;
  take(bytes: number): number {
    const at = this.end;
    this.end = up(at + bytes, 16);
    return at;
  }
}

/** Images per pass of a Winograd convolution (its transformed tiles stay in cache). */
const WINO_GROUP = 4;

/**
 * Winograd's weight transform G g G^T of one 3x3 filter g (row-major) into u
 * (4x4): G takes (a, b, c) to (a, (a + b + c) / 2, (a - b + c) / 2, c),
 * applied to the columns, then to the rows.
 */
export function winogradFilter(g: ArrayLike<number>, u: Float64Array, t = new Float64Array(12)) {
  const g4 = (a: number, b: number, c: number, out: Float64Array, at: number, step: number) => {
    out[at] = a;
    out[at + step] = (a + b + c) / 2;
    out[at + 2 * step] = (a - b + c) / 2;
    out[at + 3 * step] = c;
  };
  for (let j = 0; j < 3; j++) g4(g[j], g[3 + j], g[6 + j], t, j, 3); // t = G g, 4x3
  for (let i = 0; i < 4; i++) g4(t[3 * i], t[3 * i + 1], t[3 * i + 2], u, 4 * i, 1);
}

/** One 3x3 "same" convolution block: its packed weights and buffers. */
interface ConvLayer {
  /** Input side; input and output channels as stored (padded). */
  side: number;
  ci: number;
  co: number;
  /** Taps per output: 9 * ci. */
  k: number;
  geo: number;
  offs: number;
  packed: number;
  bias: number;
  /** Winograd F(2x2, 3x3) rather than the direct convolution. */
  winograd: boolean;
  /** Zero-bordered input, convolution output (direct), pooled output. */
  xp: number;
  out: number;
  pooled: number;
  /** Winograd: tiles transformed (wino_in) and their products, for WINO_GROUP images. */
  v: number;
  m: number;
}

/** One dense layer: input width (stored), output width and its stored (padded) width. */
interface DenseLayer {
  k: number;
  n: number;
  np: number;
  packed: number;
  bias: number;
  out: number;
}

/**
 * The model on the SIMD kernels, as the edge serves it: weights folded and
 * packed once into a memory of fixed size; scoring allocates nothing.
 *
 * @example
 * ```ts
 * import { KernelModel } from "./infer.ts";
 * import { loadArtifact } from "../artifact.ts";
 * import { sigmoid } from "../model.ts";
 *
 * const dir = new URL("../../weights/", import.meta.url);
 * const text = await Deno.readTextFile(new URL("model.json", dir));
 * const bin = await Deno.readFile(new URL("weights.bin", dir));
 * const { params, config, threshold } = await loadArtifact(text, bin);
 * const model = new KernelModel(params, config); // the shipped weights, as trained
 * const [z] = model.pairLogits(new Float32Array(2 * config.inputSize ** 2)); // one pair: a blank image twice
 * if (!(sigmoid(z) > threshold)) throw new Error("an image and itself are not the same digit");
 * ```
 */
export class KernelModel {
  /** Largest batch of pairs one pass scores; larger batches run in chunks. */
  readonly maxPairs: number;
  /** The kernels' memory, sized once at construction. */
  readonly memory: WebAssembly.Memory;
  private readonly k: Exports;
  private readonly f32: Float32Array;
  private readonly convs: Record<string, ConvLayer> = {};
  private readonly denses: Record<string, DenseLayer> = {};
  private readonly at: { tmp: number; input: number; packedA: number; logits: number };
  private readonly head: { w: Float32Array; b: number };
  private readonly ex: Executor<Buf>;
  /** Where each weight matrix waits while pack_b packs it (the activations' space, free until then). */
  private readonly staging: number;

  /** `params` as trained (batch norm with its running statistics, folded here). */
  constructor(params: ParamMap, readonly config: ModelConfig, maxPairs = 32) {
    this.maxPairs = maxPairs;
    const s = config.inputSize, n = 2 * maxPairs;
    const c1 = up(config.conv1, 4), c2 = up(config.conv2, 4), e = config.embedding, cls = config.classes ?? 0;
    const f = (s / 4) ** 2 * c2;
    // The weights first, then the activations: those are free while the
    // weights are packed, and hold each matrix for pack_b meanwhile.
    const L = new Layout();
    const conv = (side: number, ci: number, co: number): ConvLayer => {
      // Winograd: a GEMM over tiles as a 1x1 convolution (k = ci) across one
      // row of every tile of a group; direct: 3x3 taps, k = 9 * ci.
      const winograd = ci % 4 === 0, k = winograd ? ci : 9 * ci;
      return {
        side,
        ci,
        co,
        k,
        geo: L.take(28),
        offs: L.take(4 * up(k, 4)),
        packed: L.take((winograd ? 16 : 1) * 32 * Math.ceil(co / 8) * k),
        bias: L.take(4 * co),
        winograd,
        xp: 0,
        out: 0,
        pooled: 0,
        v: 0,
        m: 0,
      };
    };
    const dense = (k: number, width: number): DenseLayer => ({
      k,
      n: width,
      np: up(width, 4),
      packed: L.take(32 * Math.ceil(width / 8) * k),
      bias: L.take(4 * up(width, 4)),
      out: 0,
    });
    this.convs.conv1 = conv(s, 1, c1);
    this.convs.conv2 = conv(s / 2, c1, c2);
    this.denses.fc = dense(f, e);
    if (cls) this.denses.cls = dense(up(e, 4), cls);
    this.staging = L.end;
    for (const c of Object.values(this.convs)) {
      const tiles = WINO_GROUP * (c.side / 2) ** 2;
      c.xp = L.take(4 * n * (c.side + 2) ** 2 * c.ci);
      if (!c.winograd) c.out = L.take(4 * n * c.side * c.side * c.co);
      c.pooled = L.take(n * c.side * c.side * c.co); // a quarter of the convolution's output
      if (c.winograd) [c.v, c.m] = [L.take(4 * 16 * tiles * c.ci), L.take(4 * 16 * tiles * c.co)];
    }
    for (const d of Object.values(this.denses)) d.out = L.take(4 * n * d.np);
    this.at = {
      tmp: L.take(128),
      input: L.take(4 * n * s * s),
      packedA: L.take(16 * Math.ceil(n / 4) * Math.max(f, up(e, 4))),
      logits: L.take(4 * maxPairs),
    };
    const largest = Math.max(9 * c1 * c2, f * e, up(e, 4) * cls); // floats of the largest matrix packed
    const pages = Math.ceil(Math.max(L.end, this.staging + 4 * largest) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.k = instantiate(this.memory);
    this.f32 = new Float32Array(this.memory.buffer);

    // Weights, zero-padded to the stored channel counts, then packed.
    const w = (name: string) => params[name].values, folds = bnFolds(params, config);
    this.packConv(this.convs.conv1, w("conv1/kernel"), 1, config.conv1, folds.conv1);
    this.packConv(this.convs.conv2, w("conv2/kernel"), config.conv1, config.conv2, folds.conv2);
    // fc's rows follow the flattened [s/4, s/4, c2] layout: padded channels
    // get zero rows. Staged in place, no copy in JavaScript.
    const fc = w("fc/kernel"), at = this.staging / 4;
    if (c2 === config.conv2) this.f32.set(fc, at);
    else {
      this.f32.fill(0, at, at + f * e);
      for (let p = 0; p < (s / 4) ** 2; p++) {
        for (let ch = 0; ch < config.conv2; ch++) {
          const row = p * config.conv2 + ch;
          this.f32.set(fc.subarray(row * e, (row + 1) * e), at + (p * c2 + ch) * e);
        }
      }
    }
    this.packStaged(f, e, this.denses.fc.packed, folds.fc.scale);
    this.f32.set(folds.fc.bias, this.denses.fc.bias / 4);
    if (cls) {
      const ck = new Float32Array(up(e, 4) * cls);
      ck.set(w("cls/kernel")); // rows past e stay zero
      this.packB(ck, up(e, 4), cls, this.denses.cls.packed);
      this.f32.set(w("cls/bias"), this.denses.cls.bias / 4);
    }
    this.head = { w: w("head/kernel").slice(), b: w("head/bias")[0] };
    this.ex = this.executor();
  }

  /** Pack a [k, n] row-major matrix at `dst` as the GEMM reads B (pack_b, through the staging area). */
  private packB(m: Float32Array, k: number, n: number, dst: number, scale?: Float32Array) {
    this.f32.set(m, this.staging / 4);
    this.packStaged(k, n, dst, scale);
  }

  /** pack_b the [k, n] matrix in the staging area to `dst`, then multiply its columns by `scale`. */
  private packStaged(k: number, n: number, dst: number, scale?: Float32Array) {
    this.k.pack_b(this.staging, 4 * n, 4, k, n, dst);
    if (!scale) return;
    const at = this.staging / 4;
    this.f32.fill(0, at, at + up(n, 8));
    this.f32.set(scale, at);
    this.k.scale_packed(dst, k, n, this.staging);
  }

  private packConv(c: ConvLayer, kernel: Float32Array, ci: number, co: number, fold: BnFold) {
    this.f32.set(fold.bias, c.bias / 4);
    if (c.winograd) return this.packWinograd(c, kernel, ci, co, fold.scale);
    const padded = new Float32Array(9 * c.ci * c.co);
    for (let t = 0; t < 9; t++) {
      for (let i = 0; i < ci; i++) {
        padded.set(kernel.subarray((t * ci + i) * co, (t * ci + i + 1) * co), (t * c.ci + i) * c.co);
      }
    }
    this.packB(padded, c.k, c.co, c.packed, fold.scale);
    const wp = c.side + 2;
    new Int32Array(this.memory.buffer, c.geo, 7).set([wp, wp, c.ci, c.side, c.side, 1, 1]);
    new Int32Array(this.memory.buffer, c.offs, c.k).set(tapOffsets(3, 3, c.ci, wp));
  }

  /**
   * Winograd weights: for each of the 16 positions a [ci, co] matrix of
   * transformed filters, packed; and conv_gemm's geometry for a GEMM over
   * tiles: a one-row image as wide as any group's tiles, 1x1 taps.
   */
  private packWinograd(c: ConvLayer, kernel: Float32Array, ci: number, co: number, scale: Float32Array) {
    const u = Array.from({ length: 16 }, () => new Float32Array(c.ci * c.co));
    const g = new Float64Array(9), w = new Float64Array(16);
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < co; o++) {
        for (let t = 0; t < 9; t++) g[t] = kernel[(t * ci + i) * co + o];
        winogradFilter(g, w);
        for (let pos = 0; pos < 16; pos++) u[pos][i * c.co + o] = w[pos];
      }
    }
    const panel = 32 * Math.ceil(c.co / 8) * c.ci;
    u.forEach((m, pos) => this.packB(m, c.ci, c.co, c.packed + pos * panel, scale));
    const tiles = WINO_GROUP * (c.side / 2) ** 2;
    new Int32Array(this.memory.buffer, c.geo, 7).set([1, tiles, c.ci, 1, tiles, 1, 1]);
    new Int32Array(this.memory.buffer, c.offs, c.k).set(tapOffsets(1, 1, c.ci, tiles));
  }

  /** Winograd convolution block over the zero-bordered input c.xp of n images. */
  private winograd(c: ConvLayer, n: number) {
    const k = this.k, { v, m } = c, wp = c.side + 2, h = c.side / 2;
    const panel = 32 * Math.ceil(c.co / 8) * c.ci;
    for (let i0 = 0; i0 < n; i0 += WINO_GROUP) {
      const g = Math.min(WINO_GROUP, n - i0), tiles = g * h * h;
      k.wino_in(c.xp + 4 * i0 * wp * wp * c.ci, g, wp, c.ci, v);
      for (let pos = 0; pos < 16; pos++) {
        k.conv_gemm(
          v + 4 * pos * tiles * c.ci,
          c.geo,
          c.offs,
          c.k,
          c.packed + pos * panel,
          c.co,
          m + 4 * pos * tiles * c.co,
          4 * c.co,
          0,
          tiles,
          this.at.tmp,
          1,
        );
      }
      k.wino_out_pool(m, tiles, c.co, c.bias, c.pooled + 4 * i0 * h * h * c.co);
    }
  }

  /** The layers on kernel buffers (batch norm is already folded into the weights). */
  private executor(): Executor<Buf> {
    const k = this.k, at = this.at;
    const denseOp = (x: Buf, name: string, relu: number): Buf => {
      const d = this.denses[name], f = x.side * x.side * x.c;
      if (x.n <= 2) k.gemm_rows(x.at, 4 * f, d.packed, d.out, 4 * d.np, x.n, d.n, f, at.tmp);
      else {
        k.pack_a(x.at, 4 * f, 4, x.n, f, at.packedA);
        k.gemm(at.packedA, d.packed, d.out, 4 * d.np, x.n, d.n, f, at.tmp);
      }
      k.bias_act(d.out, x.n, d.np, d.bias, relu);
      return { at: d.out, n: x.n, side: 1, c: d.np };
    };
    return {
      convBlock: (x, name) => {
        const c = this.convs[name], { n, side } = x, wp = side + 2, h = side / 2;
        k.pad_copy(x.at, n, side, side, c.ci, 1, 1, wp, wp, c.xp);
        if (c.winograd) {
          this.winograd(c, n);
          return { at: c.pooled, n, side: h, c: c.co };
        }
        k.conv_gemm(
          c.xp,
          c.geo,
          c.offs,
          c.k,
          c.packed,
          c.co,
          c.out,
          4 * c.co,
          0,
          n * side * side,
          at.tmp,
          c.ci % 4 === 0 ? 1 : 0,
        );
        k.pool_bias_relu(c.out, n * h, h, c.co, c.bias, c.pooled, 4 * h * c.co);
        return { at: c.pooled, n, side: h, c: c.co };
      },
      denseBlock: (x, name) => denseOp(x, name, 1),
      dense: (x, name) => denseOp(x, name, 0),
      softmax: (x) => {
        const width = this.config.classes!;
        for (let i = 0; i < x.n; i++) {
          softmax(this.f32.subarray(x.at / 4 + i * x.c, x.at / 4 + i * x.c + width));
        }
        return x;
      },
      head: (e) => {
        const b = e.n / 2, width = this.head.w.length, v = this.f32, w = this.head.w;
        for (let i = 0; i < b; i++) {
          const p = e.at / 4 + i * e.c, q = e.at / 4 + (b + i) * e.c;
          let z = this.head.b;
          for (let j = 0; j < width; j++) z += Math.abs(v[p + j] - v[q + j]) * w[j];
          v[at.logits / 4 + i] = z;
        }
        return { at: at.logits, n: b, side: 1, c: 1 };
      },
    };
  }

  /** n <= 2 * maxPairs images into the input buffer. */
  private input(images: Float32Array): Buf {
    this.f32.set(images, this.at.input / 4);
    return {
      at: this.at.input,
      n: images.length / this.config.inputSize ** 2,
      side: this.config.inputSize,
      c: 1,
    };
  }

  /**
   * Logits of B pairs: `batch` holds 2B images of S*S values (0..1), the B
   * first sides then the B second sides. Returns Float32Array(B).
   *
   * @example
   * ```ts
   * import { KernelModel } from "./infer.ts";
   * import { SEED_MODEL } from "../config.ts";
   * import { initParams } from "../params.ts";
   * import { createRng } from "../rng.ts";
   *
   * const params = initParams(SEED_MODEL, createRng(1)), px = 28 * 28, rng = createRng(2);
   * params["head/bias"].values[0] = 0.25; // any bias: the pairs below score exactly it
   * const model = new KernelModel(params, SEED_MODEL, 2); // 2 pairs a pass: 5 pairs run in 3
   * const images = Float32Array.from({ length: 5 * px }, () => rng.next());
   * const batch = new Float32Array(10 * px);
   * batch.set(images);
   * batch.set(images, 5 * px); // pair i: image i and itself
   * const logits = model.pairLogits(batch); // |e1 - e2| = 0: each logit is the head's bias
   * if (logits.length !== 5 || logits.some((z) => z !== 0.25)) throw new Error(`${logits}`);
   * ```
   */
  pairLogits(batch: Float32Array): Float32Array {
    const px = this.config.inputSize ** 2, n = batch.length / px;
    if (!Number.isInteger(n / 2)) throw new Error(`Cannot score pairs: ${n} images is not an even count`);
    const b = n / 2, out = new Float32Array(b);
    for (let p0 = 0; p0 < b; p0 += this.maxPairs) {
      const m = Math.min(this.maxPairs, b - p0);
      const chunk = m === b ? batch : new Float32Array(2 * m * px);
      if (chunk !== batch) {
        chunk.set(batch.subarray(p0 * px, (p0 + m) * px));
        chunk.set(batch.subarray((b + p0) * px, (b + p0 + m) * px), m * px);
      }
      const logits = forward(this.ex, this.config, this.input(chunk)).logits;
      out.set(this.f32.subarray(logits.at / 4, logits.at / 4 + m), p0);
    }
    return out;
  }

  /**
   * Embeddings of n images (n * S*S values): Float32Array(n * E), E = classes or embedding.
   *
   * @example
   * ```ts
   * import { KernelModel } from "./infer.ts";
   * import { loadArtifact } from "../artifact.ts";
   *
   * const dir = new URL("../../weights/", import.meta.url);
   * const text = await Deno.readTextFile(new URL("model.json", dir));
   * const bin = await Deno.readFile(new URL("weights.bin", dir));
   * const { params, config } = await loadArtifact(text, bin);
   * const model = new KernelModel(params, config);
   * const e = model.embed(new Float32Array(3 * config.inputSize ** 2)); // 3 images
   * if (e.length !== 3 * config.classes!) throw new Error("not one row of class probabilities per image");
   * const first = e.subarray(0, config.classes); // image 0's digit probabilities
   * if (Math.abs(first.reduce((a, b) => a + b) - 1) > 1e-5) throw new Error("not a softmax");
   * ```
   */
  embed(images: Float32Array): Float32Array {
    const px = this.config.inputSize ** 2, n = images.length / px;
    const d = this.config.classes || this.config.embedding, out = new Float32Array(n * d);
    for (let i0 = 0; i0 < n; i0 += 2 * this.maxPairs) {
      const m = Math.min(2 * this.maxPairs, n - i0);
      const e = tower(this.ex, this.config, this.input(images.subarray(i0 * px, (i0 + m) * px))).embedding;
      for (let i = 0; i < m; i++) {
        out.set(this.f32.subarray(e.at / 4 + i * e.c, e.at / 4 + i * e.c + d), (i0 + i) * d);
      }
    }
    return out;
  }
}

/** Softmax in place. */
function softmax(row: Float32Array) {
  let max = -Infinity, sum = 0;
  for (const v of row) max = Math.max(max, v);
  for (let j = 0; j < row.length; j++) sum += row[j] = Math.exp(row[j] - max);
  for (let j = 0; j < row.length; j++) row[j] /= sum;
}

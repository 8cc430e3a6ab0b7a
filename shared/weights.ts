// The weight artifact: a standard TF.js weights manifest + one .bin, with
// kernels quantized the TF.js converter's way (uint8/uint16 affine with the
// minimum nudged so 0.0 is exact, or float16). Stock tf.io.decodeWeights
// reads it; this module writes it, which stock TF.js cannot, and reads it
// without importing TF.js (the edge never loads TF.js: importing it costs
// ~180 ms of cold start), with the same values as tf.io.decodeWeights
// (tests/weights_test.ts).
import type { ParamMap } from "./params.ts";

/** How encodeWeights stores kernels: uint8 affine codes, IEEE half floats, or float32 as they are. */
export type Quantize = "uint8" | "float16" | "none";

/** One weightsManifest entry, as TF.js defines it. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: "float32";
  quantization?: { dtype: "uint8" | "uint16"; scale: number; min: number } | { dtype: "float16" };
}

/**
 * Affine uint8/uint16 quantization of `values` (TF.js converter scheme).
 * Returns the codes and the {scale, min} that dequantize as q * scale + min.
 *
 * @example
 * ```ts
 * import { quantizeAffine } from "./weights.ts";
 *
 * const values = Float32Array.of(-1, -0.3, 0, 0.5, 2);
 * const { q, scale, min } = quantizeAffine(values, 8);
 * const back = Array.from(q, (c) => c * scale + min);
 * if (back.some((v, i) => Math.abs(v - values[i]) > scale / 2 + 1e-6)) throw new Error("over half a step");
 * if (back[2] !== 0) throw new Error("0.0 is not exact"); // the nudged minimum makes 0 a code
 * ```
 */
export function quantizeAffine(values: Float32Array, bits: 8 | 16) {
  const qmax = 2 ** bits - 1;
  let lo = 0, hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / qmax : 1;
  const min = -Math.round(-lo / scale) * scale; // nudged: 0.0 is a code
  const max = min + qmax * scale;
  const q = bits === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(max, Math.max(min, values[i]));
    q[i] = Math.round((v - min) / scale);
  }
  return { q, scale, min };
}

/**
 * float32 -> IEEE half bits, round to nearest even.
 *
 * @example
 * ```ts
 * import { toFloat16Bits } from "./weights.ts";
 *
 * const bits = toFloat16Bits(Float32Array.of(1, -2, 0.5, 65504, 1e6));
 * // 1, -2, 0.5, the largest half (65504), and 1e6 rounded to +Infinity:
 * if (bits.join() !== [0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00].join()) throw new Error(`${bits}`);
 * ```
 */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0], sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15, mant = x & 0x7fffff;
    if (exp >= 0x1f) out[i] = sign | 0x7c00 | (exp === 128 + 15 && mant ? 0x200 : 0);
    else if (exp <= 0) {
      if (exp < -10) out[i] = sign;
      else {
        const m = mant | 0x800000, shift = 14 - exp;
        let h = m >>> shift;
        const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
        if (rem > half || (rem === half && h & 1)) h++;
        out[i] = sign | h;
      }
    } else {
      let h = sign | (exp << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = h;
    }
  }
  return out;
}

/**
 * Encode parameters (in `order`) into one buffer and its manifest entries.
 * Only kernels (names ending in "/kernel") are quantized; the small bias and
 * batch-norm vectors stay float32.
 *
 * @example
 * ```ts
 * import { encodeWeights } from "./weights.ts";
 *
 * const params = {
 *   "fc/kernel": { shape: [2, 3], values: Float32Array.of(1, 2, 3, 4, 5, 6) },
 *   "fc/bias": { shape: [3], values: Float32Array.of(0.1, 0.2, 0.3) },
 * };
 * const { entries, data } = encodeWeights(params, ["fc/kernel", "fc/bias"], "uint8");
 * if (entries[0].quantization?.dtype !== "uint8" || entries[1].quantization) throw new Error("entries");
 * if (data.length !== 6 * 1 + 3 * 4) throw new Error("not 6 uint8 codes then 3 float32 biases");
 * ```
 */
export function encodeWeights(params: ParamMap, order: string[], quantize: Quantize) {
  const entries: WeightEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const name of order) {
    const { shape, values } = params[name];
    const entry: WeightEntry = { name, shape, dtype: "float32" };
    let bytes: Uint8Array;
    if (quantize !== "none" && name.endsWith("/kernel")) {
      if (quantize === "float16") {
        entry.quantization = { dtype: "float16" };
        bytes = new Uint8Array(toFloat16Bits(values).buffer);
      } else {
        const { q, scale, min } = quantizeAffine(values, 8);
        entry.quantization = { dtype: "uint8", scale, min };
        bytes = new Uint8Array(q.buffer);
      }
    } else bytes = new Uint8Array(values.slice().buffer);
    entries.push(entry);
    chunks.push(bytes);
  }
  const data = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  return { entries, data };
}

/**
 * Byte size each entry occupies in the .bin (for size checks before decoding).
 *
 * @example
 * ```ts
 * import { entryBytes } from "./weights.ts";
 *
 * const kernel = { name: "fc/kernel", shape: [784, 500], dtype: "float32" as const };
 * if (entryBytes(kernel) !== 784 * 500 * 4) throw new Error("float32");
 * const half = { ...kernel, quantization: { dtype: "float16" as const } };
 * if (entryBytes(half) !== 784 * 500 * 2) throw new Error("float16");
 * ```
 */
export function entryBytes(e: WeightEntry): number {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const q = e.quantization?.dtype;
  return n * (q === "uint8" ? 1 : q === "uint16" || q === "float16" ? 2 : 4);
}

/** float16 bits to the float32 value they denote (exact). */
function fromFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decode a .bin by its manifest entries into a ParamMap (float32, dequantized as TF.js does).
 * Throws Error when the bytes do not match the entries' sizes.
 *
 * @example
 * ```ts
 * import { decodeWeights, encodeWeights } from "./weights.ts";
 *
 * const params = { "head/kernel": { shape: [4, 1], values: Float32Array.of(-3, -1.5, 0, 0.25) } };
 * const { entries, data } = encodeWeights(params, ["head/kernel"], "float16");
 * const back = decodeWeights(data, entries)["head/kernel"]; // these values are exact in float16
 * if (back.values.join() !== "-3,-1.5,0,0.25" || back.shape.join() !== "4,1") throw new Error("round trip");
 * ```
 */
export function decodeWeights(data: Uint8Array, entries: WeightEntry[]): ParamMap {
  const want = entries.reduce((a, e) => a + entryBytes(e), 0);
  if (data.length !== want) {
    throw new Error(`Cannot decode weights: ${data.length} bytes, manifest needs ${want}`);
  }
  const out: ParamMap = {};
  let o = 0;
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1), q = e.quantization;
    // uint8 codes are read in place; other types are copied to an aligned buffer.
    const bytes = q?.dtype === "uint8"
      ? data.subarray(o, o + entryBytes(e))
      : data.slice(o, o + entryBytes(e));
    o += bytes.length;
    let values: Float32Array;
    // Plain loops: a cold start runs this once, and V8 optimises a loop in
    // flight (on-stack replacement) but not a callback (`from(codes, fn)`
    // took 100 ms here). uint8 goes through a table of its 256 values: one
    // load per weight is what a loop not yet optimised runs fastest (2 ms
    // rather than 7 ms for 400k weights at start-up).
    if (!q) values = new Float32Array(bytes.buffer);
    else if (q.dtype === "uint8") {
      const table = new Float32Array(256);
      for (let c = 0; c < 256; c++) table[c] = c * q.scale + q.min;
      values = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) values[i] = table[bytes[i]];
    } else {
      const codes = new Uint16Array(bytes.buffer);
      values = new Float32Array(codes.length);
      if (q.dtype === "float16") { for (let i = 0; i < codes.length; i++) values[i] = fromFloat16(codes[i]); }
      else for (let i = 0; i < codes.length; i++) values[i] = codes[i] * q.scale + q.min;
    }
    if (values.length !== n) throw new Error(`Cannot decode weights: ${e.name} has ${values.length} values`);
    out[e.name] = { shape: e.shape.slice(), values };
  }
  return out;
}

/**
 * Lower-case hex SHA-256 of bytes (Web Crypto: Deno, browsers, Deploy).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./weights.ts";
 *
 * const hex = await sha256Hex(new TextEncoder().encode("abc"));
 * if (hex !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error(hex);
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

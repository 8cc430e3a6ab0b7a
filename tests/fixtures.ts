// Test images made in code: PNG/JPEG encodings of MNIST test digits and of
// hand-drawn shapes, and hostile files (a decompression bomb).
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { buildArtifact } from "../shared/artifact.ts";
import { type ModelConfig, SEED_MODEL } from "../shared/config.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { createVerifier } from "../edge/verifier.ts";

/** 8-bit PNG of a w x h image (channels 1, 2, 3 or 4). */
export function png(w: number, h: number, data: Uint8Array, channels = 1, depth: 8 | 16 = 8): Uint8Array {
  return encodePng({
    width: w,
    height: h,
    data: depth === 16 ? Uint16Array.from(data, (v) => v * 257) : data,
    channels,
    depth,
  });
}

/** Baseline JPEG from grayscale bytes. */
export function jpg(w: number, h: number, gray: Uint8Array, quality = 90): Uint8Array {
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([gray[i], gray[i], gray[i], 255], 4 * i);
  return jpeg.encode({ width: w, height: h, data: rgba }, quality).data;
}

/** A PNG of 109 bytes or so that declares width x height pixels (a bomb). */
export function bombPng(width = 30000, height = 30000): Uint8Array {
  const b = new Uint8Array(109);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const v = new DataView(b.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([8, 0, 0, 0, 0], 24);
  return b;
}

/** A dark stroke image: `draw(x, y)` true where ink is, on white paper. */
export function drawn(w: number, h: number, draw: (x: number, y: number) => boolean): Uint8Array {
  const out = new Uint8Array(w * h).fill(255);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (draw(x, y)) out[y * w + x] = 20;
  return out;
}

/** An artifact (model.json, weights.bin) of random weights, uint8-quantized. */
export function randomArtifact(config: ModelConfig = SEED_MODEL, seed = 1, threshold = 0.5) {
  return buildArtifact(initParams(config, createRng(seed)), config, threshold, "uint8", "test");
}

/** A verifier on random seed-model weights: fast, for request-path tests. */
export async function randomVerifier(seed = 1) {
  const { modelJson, bin } = await randomArtifact(SEED_MODEL, seed);
  return createVerifier(JSON.stringify(modelJson), bin);
}

/** Write the first nTrain/nTest real MNIST images as IDX files into `dir`. */
export function writeMnistSlice(dir: string, nTrain: number, nTest: number, source: {
  train: { images: { pixels: Uint8Array }; labels: Uint8Array };
  test: { images: { pixels: Uint8Array }; labels: Uint8Array };
}): void {
  const idx = (magic: number, dims: number[], body: Uint8Array) => {
    const b = new Uint8Array(4 + 4 * dims.length + body.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, magic);
    dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
    b.set(body, 4 + 4 * dims.length);
    return b;
  };
  for (const [name, split, n] of [["train", source.train, nTrain], ["t10k", source.test, nTest]] as const) {
    Deno.writeFileSync(
      `${dir}/${name}-images-idx3-ubyte`,
      idx(0x803, [n, 28, 28], split.images.pixels.subarray(0, n * 784)),
    );
    Deno.writeFileSync(`${dir}/${name}-labels-idx1-ubyte`, idx(0x801, [n], split.labels.subarray(0, n)));
  }
}

/**
 * An MNIST digit (Uint8Array(784), 0..255, white on black) as dark ink on
 * light paper, scaled `scale` times (nearest) and placed at (left, top) of a
 * w x h page: the shape of a photographed digit.
 */
export function paperDigit(
  x: Uint8Array,
  { w, h, scale, left = 0, top = 0 }: { w: number; h: number; scale: number; left?: number; top?: number },
): Uint8Array {
  const out = new Uint8Array(w * h).fill(235);
  for (let y = 0; y < 28 * scale; y++) {
    for (let i = 0; i < 28 * scale; i++) {
      const v = x[Math.floor(y / scale) * 28 + Math.floor(i / scale)];
      if (top + y < h && left + i < w) out[(top + y) * w + left + i] = Math.round(235 - (215 * v) / 255);
    }
  }
  return out;
}

/** Mean absolute difference of two model inputs (Float32Array(784), 0..1). */
export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
}

/** A multipart form as a client sends it: strings as text fields, bytes as files named FIELD.png. */
export function form(fields: Record<string, Uint8Array | string>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === "string") f.append(k, v);
    else f.append(k, new Blob([v as Uint8Array<ArrayBuffer>]), `${k}.png`);
  }
  return f;
}

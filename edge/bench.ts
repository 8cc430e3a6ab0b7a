// deno task bench:edge: in-process inference latency, then the real server
// (`edge/main.ts` in a child process) over loopback: cold start, latency at
// concurrency 1 for each input form, throughput at concurrency 32, and RSS
// after 100 vs 10,000 requests; in process, also the photo path's decoding and
// preprocessing; then phone photos (edge/bench_photos.ts). Prints medians and
// p99s and the machine.
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { useBackend } from "../shared/backend.ts";
import { loadVerifier } from "./verifier.ts";
import { WEIGHTS_DIR } from "./server.ts";
import { digitPng, loadDataset } from "../train/mnist.ts";
import { createRng } from "../shared/rng.ts";
import { machine, rssMiB } from "../train/machine.ts";
import { spawnServer } from "./spawn.ts";
import { decodeImage } from "../shared/decode.ts";
import { benchPhotos } from "./bench_photos.ts";
import { toMnist } from "../shared/preprocess.ts";

console.log(`machine: ${await machine()}; TF.js ${tf.version.tfjs}`);
const q = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (xs: number[]) =>
  `median ${q(xs, 0.5).toFixed(3)} ms, p99 ${q(xs, 0.99).toFixed(3)} ms (n=${xs.length})`;

// Inputs: real MNIST test digits, as arrays, 28x28 PNGs and 640x480 "photos".
const { test } = loadDataset();
const digit = (i: number) => test.images.pixels.subarray(i * 784, (i + 1) * 784);
const rng = createRng(7);
function photo(i: number): Uint8Array {
  // Dark ink on uneven paper, digit ~300 px tall, off-centre, JPEG noise.
  const w = 640, h = 480, d = digit(i), rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.floor((x - 200) / 11), sy = Math.floor((y - 60) / 11);
      const ink = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? d[sy * 28 + sx] / 255 : 0;
      const paper = 215 + 25 * (x / w) + rng.normal() * 4;
      const v = Math.max(0, Math.min(255, paper * (1 - 0.85 * ink)));
      rgba.set([v, v * 0.98, v * 0.95, 255], 4 * (y * w + x));
    }
  }
  return jpeg.encode({ width: w, height: h, data: rgba }, 85).data;
}
const arrays = [0, 1, 2, 3].map((i) => Array.from(digit(i)));
const pngs = [0, 1].map((i) => digitPng(digit(i)));
const photos = [0, 1].map(photo);

await useBackend("wasm");
const v = await loadVerifier(WEIGHTS_DIR);
const a = Float32Array.from(digit(0), (x) => x / 255), b = Float32Array.from(digit(1), (x) => x / 255);
for (let i = 0; i < 200; i++) v.score(a, b);
const inproc: number[] = [];
for (let i = 0; i < 3000; i++) {
  const t0 = performance.now();
  v.score(a, b);
  inproc.push(performance.now() - t0);
}
console.log(`in-process inference, one pair (wasm): ${fmt(inproc)}`);
// The photo path's two halves, in process: JPEG decoding, then preprocessing.
const decodeMs: number[] = [], prepMs: number[] = [];
for (let i = 0; i < 230; i++) {
  const t0 = performance.now();
  const gray = await decodeImage(photos[i % 2], "photo");
  const t1 = performance.now();
  toMnist(gray, "photo");
  if (i < 30) continue; // warm-up
  decodeMs.push(t1 - t0);
  prepMs.push(performance.now() - t1);
}
console.log(`in-process 640x480 JPEG photo: decode ${fmt(decodeMs)}; preprocessing ${fmt(prepMs)}`);

const t0 = performance.now();
const { child, base } = await spawnServer({ waitFor: "/healthz" });
const jsonBody = JSON.stringify({ a: arrays[0], b: arrays[1] });
const postJson = (body = jsonBody) =>
  fetch(`${base}/verify`, { method: "POST", body, headers: { "content-type": "application/json" } });
const postForm = (x: Uint8Array, y: Uint8Array, type: string) => {
  const f = new FormData();
  f.append("a", new Blob([x as Uint8Array<ArrayBuffer>], { type }), "a");
  f.append("b", new Blob([y as Uint8Array<ArrayBuffer>], { type }), "b");
  return fetch(`${base}/verify`, { method: "POST", body: f });
};
const first = await postJson();
if (first.status !== 200) throw new Error(`first /verify: ${first.status}`);
await first.arrayBuffer();
console.log(`cold start: process spawn -> first /verify answer ${(performance.now() - t0).toFixed(0)} ms`);

const rss = () => rssMiB(child.pid);
async function serial(name: string, n: number, send: () => Promise<Response>) {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const r = await send();
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${name}: status ${r.status}`);
    ts.push(performance.now() - s);
  }
  console.log(`concurrency 1, ${name}: ${fmt(ts)}`);
}
// Memory: the same mixed load (arrays, PNGs, a photo every 50th, a bad
// request every 10th) at concurrency 8; RSS after 100 and after 10,000.
let sentMixed = 0;
async function mixed(until: number) {
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sentMixed < until) {
      const k = sentMixed++;
      const r = k % 50 === 0
        ? await postForm(photos[0], photos[1], "image/jpeg")
        : k % 10 === 0
        ? await postJson('{"a": [1, 2], "b": "x"}')
        : k % 2
        ? await postForm(pngs[0], pngs[1], "image/png")
        : await postJson();
      await r.arrayBuffer();
    }
  }));
}
await mixed(100);
const rss100 = await rss();
await mixed(10_000);
const rss10k = await rss();
console.log(
  `RSS under a mixed load: ${rss100.toFixed(1)} MiB after 100 requests, ${
    rss10k.toFixed(1)
  } MiB after 10,000 (${(100 * (rss10k / rss100 - 1)).toFixed(1)}%)`,
);

const bomb = new Uint8Array(109);
bomb.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
new DataView(bomb.buffer).setUint32(16, 30000);
new DataView(bomb.buffer).setUint32(20, 30000);
const bombs: number[] = [];
for (let i = 0; i < 50; i++) {
  const s = performance.now();
  const r = await postForm(bomb, pngs[0], "image/png");
  await r.arrayBuffer();
  if (r.status !== 413) throw new Error(`bomb: status ${r.status}`);
  bombs.push(performance.now() - s);
}
console.log(`109-byte PNG declaring 30000x30000, refused with 413: ${fmt(bombs)}`);

await serial("JSON 784-pixel arrays", 1000, () => postJson());
await serial("multipart 28x28 PNGs", 1000, () => postForm(pngs[0], pngs[1], "image/png"));
await serial("multipart 640x480 JPEG photos", 100, () => postForm(photos[0], photos[1], "image/jpeg"));

async function concurrent(c: number, seconds: number) {
  let done = 0, errors = 0;
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: c }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        const r = await postJson();
        await r.arrayBuffer();
        if (r.status === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
      lat.push(performance.now() - s);
    }
  }));
  console.log(
    `concurrency ${c}, JSON arrays, ${seconds} s: ${
      (done / seconds).toFixed(0)
    } requests/s, ${errors} errors, latency ${fmt(lat)}`,
  );
  return done;
}
await concurrent(32, 10);
child.kill("SIGTERM");
await child.status;
await benchPhotos(fmt);

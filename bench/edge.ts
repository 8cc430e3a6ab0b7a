// deno task bench:edge: in-process inference per pair, the project's kernels
// against stock TF.js (wasm) in alternating rounds; then the real server
// (`edge/main.ts` in a child process, one isolate per core) over loopback:
// cold start, latency at concurrency 1 for each input form, RSS after 1,000
// and 10,000 mixed requests with each isolate's JS heap and kernel memory,
// throughput at concurrency 32 with autocannon (JSON arrays, 28x28 PNGs,
// GET /healthz) beside the PyTorch + FastAPI reference server when
// /usr/bin/python3 has torch, fastapi and uvicorn (alternating rounds); in
// process, the photo path's decoding and preprocessing; then phone photos
// (bench/photos.ts). Prints medians and p99s and the machine.
import * as tf from "@tensorflow/tfjs";
import { cannon, FORM_TYPE, pairForm, pngForm, type Run, sendRange } from "./loadgen.ts";
import jpeg from "jpeg-js";
import { useBackend } from "../shared/backend.ts";
import { loadVerifier } from "../edge/verifier.ts";
import { WEIGHTS_DIR } from "../edge/server.ts";
import { digit as digitOf, digitPng, loadDataset } from "../train/data/mnist.ts";
import { PIXELS, SIDE } from "../shared/preprocess.ts";
import { createRng } from "../shared/rng.ts";
import { machine, rssMiB } from "./machine.ts";
import {
  freePort,
  serveFlags,
  type Spawned,
  spawnServer,
  waitUntilOk,
  YOUNG_GENERATION_CAP,
} from "../edge/spawn.ts";
import { decodeImage } from "../shared/decode.ts";
import { benchPhotos } from "./photos.ts";
import { startupPhases } from "./startup.ts";
import { toMnist } from "../shared/preprocess.ts";
import { readArtifactDir } from "../train/artifact_io.ts";
import { foldBatchNorm } from "../shared/model.ts";
import { createTfModel, pairLogits } from "../shared/model_tf.ts";
import { median, quantile } from "./stats.ts";

console.log(`machine: ${await machine()}; TF.js ${tf.version.tfjs}`);
const fmt = (xs: number[]) =>
  `median ${quantile(xs, 0.5).toFixed(3)} ms, p99 ${quantile(xs, 0.99).toFixed(3)} ms (n=${xs.length})`;

// Inputs: real MNIST test digits, as arrays, 28x28 PNGs and 640x480 "photos".
const { test } = loadDataset();
const digit = (i: number) => digitOf(test.images.pixels, i);
const rng = createRng(7);
function photo(i: number): Uint8Array {
  // Dark ink on uneven paper, digit ~300 px tall, off-centre, JPEG noise.
  const w = 640, h = 480, d = digit(i), rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.floor((x - 200) / 11), sy = Math.floor((y - 60) / 11);
      const ink = sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE ? d[sy * SIDE + sx] / 255 : 0;
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
const art = await readArtifactDir(WEIGHTS_DIR.pathname);
const stock = createTfModel(foldBatchNorm(art.params, art.config), art.config);
const pair = new Float32Array(2 * PIXELS);
pair.set(a);
pair.set(b, PIXELS);
const inproc: number[] = [], inStock: number[] = [];
for (let round = 0; round < 6; round++) {
  for (
    const [times, score] of [[inproc, () => v.score(a, b)], [inStock, () => pairLogits(stock, pair)]] as const
  ) {
    for (let i = 0; i < 700; i++) {
      const t0 = performance.now();
      score();
      if (i >= 200) times.push(performance.now() - t0); // the first 200 of a round: warm-up
    }
  }
}
console.log(`in-process inference, one pair, the project's kernels: ${fmt(inproc)}`);
console.log(`in-process inference, one pair, stock TF.js ${tf.version.tfjs} (wasm): ${fmt(inStock)}`);
console.log(`  stock / kernels, medians: ${(quantile(inStock, 0.5) / quantile(inproc, 0.5)).toFixed(2)}x`);
{
  // Agreement: 500 MNIST test pairs through both.
  const n = 500, x = new Float32Array(2 * n * PIXELS);
  for (let i = 0; i < 2 * n; i++) {
    x.set(Array.from(digit(i), (p) => p / 255), ((i % 2) * n + (i >> 1)) * PIXELS);
  }
  const ours = v.scoreBatch(x), theirs = pairLogits(stock, x);
  const worst = ours.reduce((m, z, i) => Math.max(m, Math.abs(z - theirs[i])), 0);
  console.log(
    `  largest |logit difference|, kernels vs stock TF.js, ${n} MNIST test pairs: ${worst.toExponential(2)}`,
  );
}
const batch16 = Float32Array.from(
  { length: 32 * PIXELS },
  (_, i) => digit(Math.floor(i / PIXELS))[i % PIXELS] / 255,
);
const per16: number[] = [];
for (let i = 0; i < 1200; i++) {
  const t0 = performance.now();
  v.scoreBatch(batch16);
  if (i >= 200) per16.push((performance.now() - t0) / 16);
}
console.log(`in-process inference per pair in a batch of 16, the project's kernels: ${fmt(per16)}`);
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

const jsonBody = JSON.stringify({ a: arrays[0], b: arrays[1] });
// Cold start: process spawn -> first /verify answer, five times each for a
// JSON pair and a PNG pair (whose decoder loads on that first request).
async function coldStart(body: BodyInit, type: string): Promise<number> {
  const port = freePort(), url = `http://127.0.0.1:${port}/verify`;
  const t0 = performance.now();
  const c = new Deno.Command(Deno.execPath(), {
    args: ["run", ...serveFlags(), new URL("../edge/main.ts", import.meta.url).pathname],
    env: { PORT: String(port), HOST: "127.0.0.1" },
    stdout: "null",
  }).spawn();
  for (;;) {
    const r = await fetch(url, { method: "POST", body, headers: { "content-type": type } })
      .catch(() => undefined);
    await r?.arrayBuffer();
    if (r?.status === 200) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - t0;
  c.kill("SIGKILL");
  await c.status;
  return ms;
}
const pngBody = new Uint8Array(pngForm({ a: pngs[0], b: pngs[1] }));
for (
  const [name, body, type] of [["JSON", jsonBody, "application/json"], ["PNG", pngBody, FORM_TYPE]] as const
) {
  const colds: number[] = [];
  for (let i = 0; i < 5; i++) colds.push(await coldStart(body, type));
  console.log(
    `cold start, process spawn -> first /verify answer (${name} pair): median ${
      quantile(colds, 0.5).toFixed(0)
    } ms (${colds.map((t) => t.toFixed(0)).join(", ")})`,
  );
}
for (const [phase, ms] of await startupPhases()) {
  console.log(`  start-up phase, ${phase}: median ${ms.toFixed(1)} ms`);
}

/** POST `body` to `base`/verify (FormData sets its own content type). */
const postTo = (base: string, body: BodyInit, type?: string) =>
  fetch(`${base}/verify`, { method: "POST", body, headers: type ? { "content-type": type } : {} });

// Memory: a mixed load (arrays, PNGs, a photo every 50th, a bad request
// every 10th) at concurrency 8; RSS after 1,000 (warm-up) and after 10,000,
// and each isolate's memory from /readyz (a new connection each time, so that
// they land on different isolates). First on a server without the young
// generation's cap (V8's default), then on the one the rest of this bench uses.
async function mixedLoad({ child, base }: Spawned, name: string) {
  const post = (body: BodyInit, type?: string) => postTo(base, body, type);
  const send = (k: number) =>
    k % 50 === 0
      ? post(pairForm(photos[0], photos[1], "image/jpeg"))
      : k % 10 === 0
      ? post('{"a": [1, 2], "b": "x"}', "application/json")
      : k % 2
      ? post(pairForm(pngs[0], pngs[1], "image/png"))
      : post(jsonBody, "application/json");
  const isolates = async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const client = Deno.createHttpClient({});
      const r = await (await fetch(`${base}/readyz`, { client })).json();
      client.close();
      const m = r.memory;
      seen.set(
        m.isolate,
        `${m.isolate}: JS heap ${(m.heap_used_bytes / 2 ** 20).toFixed(1)} MiB used of ${
          (m.heap_total_bytes / 2 ** 20).toFixed(1)
        } MiB, kernel memory ${(m.kernel_bytes / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    return [...seen.values()].sort().join("; ");
  };
  await sendRange(0, 1000, send);
  const rss1k = await rssMiB(child.pid), iso1k = await isolates();
  await sendRange(1000, 10_000, send);
  const rss10k = await rssMiB(child.pid), iso10k = await isolates();
  console.log(
    `RSS under a mixed load, ${name}: ${rss1k.toFixed(1)} MiB after 1,000 requests, ${
      rss10k.toFixed(1)
    } MiB after 10,000 (${(100 * (rss10k / rss1k - 1)).toFixed(1)}%)`,
  );
  console.log(`  isolates after 1,000: ${iso1k}`);
  console.log(`  isolates after 10,000: ${iso10k}`);
}
{
  const uncapped = await spawnServer({
    flags: serveFlags().filter((f) => f !== YOUNG_GENERATION_CAP),
  });
  await mixedLoad(uncapped, "V8's default young generation");
  uncapped.child.kill("SIGKILL");
  await uncapped.child.status;
}
const { child, base } = await spawnServer();
await mixedLoad({ child, base }, `the serve task (${YOUNG_GENERATION_CAP})`);
const postJson = (body = jsonBody) => postTo(base, body, "application/json");
const postForm = (x: Uint8Array, y: Uint8Array, type: string) => postTo(base, pairForm(x, y, type));
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

await serial("JSON pixel arrays", 1000, () => postJson());
await serial("multipart 28x28 PNGs", 1000, () => postForm(pngs[0], pngs[1], "image/png"));
await serial("multipart 640x480 JPEG photos", 100, () => postForm(photos[0], photos[1], "image/jpeg"));

// Throughput at concurrency 32, autocannon, 10 s rounds, alternating with
// the PyTorch + FastAPI reference server on the same requests when it runs.
child.kill("SIGTERM");
await child.status;
const loads = {
  "JSON /verify": {
    method: "POST",
    path: "/verify",
    body: jsonBody,
    headers: { "content-type": "application/json" },
  },
  "PNG /verify": {
    method: "POST",
    path: "/verify",
    body: pngForm({ a: pngs[0], b: pngs[1] }),
    headers: { "content-type": FORM_TYPE },
  },
  "GET /healthz": { method: "GET", path: "/healthz" },
} as const;
const cannonAt = (url: string, load: keyof typeof loads) => {
  const { path, ...req } = loads[load];
  return cannon(url + path, req);
};
const torchScript = new URL("../../shared/bench/pytorch_verify_server.py", import.meta.url).pathname;
const hasTorch = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import torch, fastapi, uvicorn"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success && Deno.statSync(torchScript).isFile, () => false);
async function startTorch() {
  const port = freePort(), url = `http://127.0.0.1:${port}`;
  const p = new Deno.Command("/usr/bin/python3", {
    args: [
      torchScript,
      "--weights",
      WEIGHTS_DIR.pathname,
      "--port",
      String(port),
      "--workers",
      String(navigator.hardwareConcurrency),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitUntilOk(p, `${url}/healthz`, "the PyTorch reference server", 30);
  return { p, url };
}
const results: Record<string, Run[]> = {};
const record = (name: string, r: Run) => (results[name] ??= []).push(r);
for (let round = 0; round < 3; round++) {
  const ours = await spawnServer({ waitFor: "/readyz" });
  for (const load of Object.keys(loads) as (keyof typeof loads)[]) {
    record(`ours, ${load}`, await cannonAt(ours.base, load));
  }
  ours.child.kill("SIGTERM");
  await ours.child.status;
  if (!hasTorch) continue;
  const torch = await startTorch();
  for (const load of ["JSON /verify", "GET /healthz"] as const) {
    record(`PyTorch + FastAPI, ${load}`, await cannonAt(torch.url, load));
  }
  torch.p.kill("SIGTERM");
  await torch.p.status;
}
for (const [name, rs] of Object.entries(results)) {
  console.log(
    `concurrency 32, ${name}: ${
      median(rs.map((r) => r.rps)).toFixed(0)
    } requests/s (median of ${rs.length} rounds: ${
      rs.map((r) => r.rps.toFixed(0)).join(", ")
    }), latency p50 ${median(rs.map((r) => r.p50))} ms, p99 ${median(rs.map((r) => r.p99))} ms`,
  );
}
if (hasTorch) {
  const ratio = median(results["ours, JSON /verify"].map((r) => r.rps)) /
    median(results["PyTorch + FastAPI, JSON /verify"].map((r) => r.rps));
  console.log(
    `  JSON /verify, ours / PyTorch + FastAPI (${navigator.hardwareConcurrency} workers): ${
      ratio.toFixed(1)
    }x`,
  );
} else {console.log(
    "  (no PyTorch reference: /usr/bin/python3 lacks torch, fastapi or uvicorn, or ../shared/bench is absent)",
  );}
await benchPhotos(fmt);

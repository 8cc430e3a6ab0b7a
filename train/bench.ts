// deno task bench:train [--workers N] [--windows K] [--steps S]
// Steady-state training throughput of the seed model (batch 100, Adam) on
// wasm: in the main thread and with N data-parallel workers, median pairs/s
// over K windows after warm-up, plus a per-kernel profile of one step. When
// /usr/bin/python3 has torch, the PyTorch reference runs next, same machine,
// same invocation, and the ratio is printed.
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { registerWasmGradKernels } from "./kernels.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "./mnist.ts";
import { balancedPairs, fillBatch } from "./pairs.ts";
import { localRunner, type StepRunner, workerRunner } from "./replicas.ts";
import { createTrainer, disposeTrainer, trainStep } from "./step.ts";
import { machine } from "./machine.ts";

const { values: a } = parseArgs({
  options: {
    workers: { type: "string", default: String(navigator.hardwareConcurrency ?? 2) },
    windows: { type: "string", default: "5" },
    steps: { type: "string", default: "30" },
    pytorch: {
      type: "string",
      default: new URL("../../shared/bench/pytorch_siamese.py", import.meta.url).pathname,
    },
  },
});
const B = 100, windows = Number(a.windows), steps = Number(a.steps), workers = Number(a.workers);

console.log(`machine: ${await machine()}; TF.js ${tf.version.tfjs}`);

await useBackend("wasm");
await registerWasmGradKernels();
const { train } = loadDataset(DEFAULT_DATA_DIR);
const pool = Int32Array.from({ length: train.labels.length }, (_, i) => i);
const pairs = balancedPairs(pool, train.labels, B * (10 + windows * steps), createRng(1));
const batches = Array.from({ length: pairs.a.length / B }, (_, k) => ({
  batch: fillBatch(train.images.pixels, pairs, k * B, B),
  same: Float32Array.from(pairs.same.subarray(k * B, (k + 1) * B)),
}));

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

async function measure(name: string, runner: StepRunner): Promise<number> {
  let k = 0;
  for (; k < 10; k++) await runner.step(batches[k].batch, batches[k].same);
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++, k++) await runner.step(batches[k].batch, batches[k].same);
    rates.push((steps * B) / ((performance.now() - t0) / 1000));
  }
  runner.close();
  const m = median(rates);
  console.log(
    `${name.padEnd(28)} ${m.toFixed(0).padStart(6)} pairs/s median  (windows: ${
      rates.map((r) => r.toFixed(0)).join(", ")
    })`,
  );
  return m;
}

const init = initParams(SEED_MODEL, createRng(1));
const results: Record<string, number> = {};
results.main = await measure(
  "TF.js wasm, main thread",
  await localRunner(init, SEED_MODEL, 3e-4, train.images.pixels),
);
if (workers > 1) {
  results.workers = await measure(
    `TF.js wasm, ${workers} workers`,
    await workerRunner(workers, init, SEED_MODEL, 3e-4, "wasm", train.images.pixels),
  );
}

// Where one main-thread step's time goes.
const t = createTrainer(init, SEED_MODEL, 3e-4);
trainStep(t, batches[0].batch, batches[0].same);
const prof = await tf.profile(() => {
  trainStep(t, batches[1].batch, batches[1].same);
});
disposeTrainer(t);
const byKernel: Record<string, number> = {};
for (const k of prof.kernels) byKernel[k.name] = (byKernel[k.name] ?? 0) + (k.kernelTimeMs as number);
console.log("one step by kernel (ms, nested kernels counted inside their parent too):");
console.log(
  "  " +
    Object.entries(byKernel).sort((x, y) => y[1] - x[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(", "),
);

const best = Math.max(...Object.values(results));
let torchRate: number | undefined;
try {
  await Deno.stat(a.pytorch!);
  const probe = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch"], stderr: "null" })
    .output();
  if (!probe.success) throw new Error("torch not importable");
  console.log(`PyTorch reference: ${a.pytorch} --throughput (2 threads)`);
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [a.pytorch!, "--data", DEFAULT_DATA_DIR, "--throughput"],
    stderr: "inherit",
  }).output();
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const j = JSON.parse(line);
    if (j.train_pairs_per_s_median) torchRate = j.train_pairs_per_s_median;
    console.log(`  ${line}`);
  }
} catch (e) {
  console.log(`PyTorch reference skipped: ${(e as Error).message}`);
}
if (torchRate) {
  console.log(
    `PyTorch ${torchRate.toFixed(0)} pairs/s; TF.js best ${best.toFixed(0)} pairs/s; ratio TF.js/PyTorch = ${
      (best / torchRate).toFixed(2)
    }x`,
  );
}

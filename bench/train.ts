// deno task bench:train [--workers N] [--windows K] [--steps S] [--rounds R]
// Steady-state training throughput of the seed model (batch 100, Adam) on
// wasm: median pairs/s over K windows of S steps after warm-up, in the main
// thread and with N data-parallel workers, plus a per-kernel profile of one
// step. When /usr/bin/python3 has torch, the PyTorch reference (its own
// --throughput measurement) runs in the same invocation, alternating with the
// workers' measurement for R rounds: these machines' speed drifts by tens of
// percent over minutes, so each round's ratio compares neighbours in time,
// and the median ratio over rounds is the figure.
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { registerWasmGradKernels } from "../train/kernels/register.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "../train/data/mnist.ts";
import { balancedPairs, fillBatch } from "../train/data/pairs.ts";
import { localRunner, type StepRunner, stepsInFlight, workerRunner } from "../train/parallel/replicas.ts";
import { createTrainer, disposeTrainer, trainStep } from "../train/step.ts";
import { machine } from "./machine.ts";
import { median } from "./stats.ts";

const { values: a } = parseArgs({
  options: {
    workers: { type: "string", default: String(navigator.hardwareConcurrency ?? 2) },
    windows: { type: "string", default: "5" },
    steps: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    pytorch: {
      type: "string",
      default: new URL("../../shared/bench/pytorch_siamese.py", import.meta.url).pathname,
    },
  },
});
const B = 100, windows = Number(a.windows), steps = Number(a.steps), workers = Number(a.workers);
const rounds = Number(a.rounds);

console.log(`machine: ${await machine()}; TF.js ${tf.version.tfjs}`);

await useBackend("wasm");
registerWasmGradKernels();
const { train } = loadDataset(DEFAULT_DATA_DIR);
const pool = Int32Array.from({ length: train.labels.length }, (_, i) => i);
// A pool of distinct batches, cycled (throughput does not depend on which).
const pairs = balancedPairs(pool, train.labels, B * 100, createRng(1));
const batches = Array.from({ length: pairs.a.length / B }, (_, k) => ({
  batch: fillBatch(train.images.pixels, pairs, k * B, B),
  same: Float32Array.from(pairs.same.subarray(k * B, (k + 1) * B)),
}));

const fmt = (xs: number[]) => xs.map((r) => r.toFixed(0)).join(", ");

let next = 0;
/** n steps, two in flight (as the training loop runs them). */
function run(runner: StepRunner, n: number) {
  return stepsInFlight(n, () => {
    const { batch, same } = batches[next++ % batches.length];
    return runner.step(batch, same);
  });
}

/** Median pairs/s over the windows (the runner is warmed up first). */
async function measure(name: string, runner: StepRunner): Promise<number> {
  await run(runner, 10);
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    const t0 = performance.now();
    await run(runner, steps);
    rates.push((steps * B) / ((performance.now() - t0) / 1000));
  }
  const m = median(rates);
  console.log(`${name.padEnd(30)} ${m.toFixed(0).padStart(6)} pairs/s median  (windows: ${fmt(rates)})`);
  return m;
}

/** PyTorch's median training pairs/s, or undefined when it cannot run here. */
async function pytorch(): Promise<number | undefined> {
  try {
    await Deno.stat(a.pytorch!);
  } catch {
    return undefined;
  }
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [a.pytorch!, "--data", DEFAULT_DATA_DIR, "--throughput"],
    stderr: "inherit", // a failing reference shows why
  }).output();
  if (!out.success) return undefined;
  let rate: number | undefined;
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const j = JSON.parse(line);
    if (j.train_pairs_per_s_median) {
      rate = j.train_pairs_per_s_median;
      console.log(
        `${"PyTorch 1.13, 2 threads".padEnd(30)} ${rate!.toFixed(0).padStart(6)} pairs/s median  (windows: ${
          fmt(j.windows)
        }; inference ${j.infer_pair_ms_median.toFixed(2)} ms/pair)`,
      );
    } else if (j.torch) console.log(`PyTorch reference: ${a.pytorch} --throughput (torch ${j.torch})`);
  }
  return rate;
}

const init = initParams(SEED_MODEL, createRng(1));
const local = await localRunner(init, SEED_MODEL, 3e-4, train.images.pixels);
const single = await measure("TF.js wasm, main thread", local);
local.close();

const parallel = workers > 1
  ? await workerRunner(workers, init, SEED_MODEL, 3e-4, "wasm", train.images.pixels)
  : undefined;
const label = parallel ? `TF.js wasm, ${workers} workers` : "TF.js wasm, main thread";
const ratios: number[] = [], ours: number[] = [];
for (let r = 0; r < rounds; r++) {
  console.log(`round ${r + 1}/${rounds}`);
  const tfjs = parallel ? await measure(label, parallel) : single;
  ours.push(tfjs);
  const torch = await pytorch();
  if (torch === undefined) {
    console.log("PyTorch reference skipped: /usr/bin/python3 with torch and the reference script are needed");
    break;
  }
  ratios.push(tfjs / torch);
  console.log(`  ratio TF.js/PyTorch ${(tfjs / torch).toFixed(2)}x`);
}
parallel?.close();

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
console.log(`TF.js best: ${Math.max(single, ...ours).toFixed(0)} pairs/s`);
if (ratios.length) {
  console.log(
    `ratio TF.js/PyTorch, median of ${ratios.length} rounds: ${median(ratios).toFixed(2)}x  (rounds: ${
      ratios.map((r) => r.toFixed(2)).join(", ")
    })`,
  );
}

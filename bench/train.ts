// deno task bench:train [--workers N] [--windows K] [--steps S] [--rounds R]
// Steady-state training throughput of the seed model (batch 100, Adam) on
// wasm: median pairs/s over K windows of S steps after warm-up, in the main
// thread and with N data-parallel workers. When /usr/bin/python3 has torch,
// the PyTorch reference (its own --throughput measurement) runs in the same
// invocation, alternating with the workers' measurement for R rounds: these
// machines' speed drifts by tens of percent over minutes, so each round's
// ratio compares neighbours in time, and the median ratio over rounds is the
// figure. Then a per-kernel profile of one step of the seed model and of the
// default recipe's tower, each kernel against one core's ceilings.
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type ModelConfig, SEED_MODEL } from "../shared/config.ts";
import { simdFor } from "../shared/kernels/simd.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { registerWasmGradKernels } from "../train/kernels/register.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "../train/data/mnist.ts";
import { balancedPairs, fillBatch } from "../train/data/pairs.ts";
import { localRunner, type StepRunner, stepsInFlight, workerRunner } from "../train/parallel/replicas.ts";
import { createTrainer, disposeTrainer, trainStep } from "../train/step.ts";
import { DEFAULT_RECIPE, RECIPES } from "../train/recipes.ts";
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

/** The 2B digits of batch k (first sides, then second sides). */
const digitsOf = (k: number) =>
  Int32Array.from(
    { length: 2 * B },
    (_, i) => train.labels[i < B ? pairs.a[k * B + i] : pairs.b[k * B + i - B]],
  );
/** The default recipe's tower. */
const DEFAULT_TOWER: ModelConfig = { ...SEED_MODEL, ...RECIPES[DEFAULT_RECIPE].tower };
/** Profile entries that are ops around kernels listed on their own (so not counted twice). */
const nests = (name: string) => name === "forward" || name.endsWith("__op");

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

// Where one main-thread step's time goes, for the seed model and the
// default recipe's tower, against what the hardware allows: each
// convolution and matrix product in GFLOP/s (nominal: a direct
// convolution's multiply-adds, so a Winograd kernel can pass 100%) as a
// share of the GEMM micro-kernel's rate on packed operands, and the memory-bound
// kernels (batch norm, Adam) in GB/s of their inputs and outputs as a share
// of a large copy's.
const ceilings = measureCeilings();
console.log(
  `ceilings, one core: GEMM ${ceilings.gflops.toFixed(1)} GFLOP/s (packed [200,784]x[784,500]), ` +
    `copy ${ceilings.gbs.toFixed(1)} GB/s (16 MiB read + written)`,
);
const profiled: [string, ModelConfig, number][] = [
  ["seed", SEED_MODEL, 0],
  [DEFAULT_RECIPE, DEFAULT_TOWER, RECIPES[DEFAULT_RECIPE].digitLoss],
];
for (const [name, config, digitLoss] of profiled) await profileStep(name, config, digitLoss);
console.log(`TF.js best: ${Math.max(single, ...ours).toFixed(0)} pairs/s`);
if (ratios.length) {
  console.log(
    `ratio TF.js/PyTorch, median of ${ratios.length} rounds: ${median(ratios).toFixed(2)}x  (rounds: ${
      ratios.map((r) => r.toFixed(2)).join(", ")
    })`,
  );
}

/** One kernel call of a tf.profile() report. */
type KernelInfo = Awaited<ReturnType<typeof tf.profile>>["kernels"][number];

/** Nominal floating-point operations of one kernel call, from its shapes; undefined: not arithmetic-bound. */
function flops(k: KernelInfo): number | undefined {
  const [a, b] = k.inputShapes as number[][], out = k.outputShapes[0] as number[];
  const size = tf.util.sizeFromShape;
  // Every convolution form: 2 x (output pixels x co) x (kh x kw x ci), from the filter or dy.
  if (k.name === "Conv2D") return 2 * size(out) * b[0] * b[1] * b[2];
  if (k.name === "Conv2DBackpropInput") return 2 * size(a) * b[0] * b[1] * b[2];
  if (k.name === "Conv2DBackpropFilter") return 2 * size(b) * out[0] * out[1] * out[2];
  if (k.name === "BatchMatMul" || k.name === "_FusedMatMul") {
    const m = out.at(-2)!, inner = a.at(-2) === m ? a.at(-1)! : a.at(-2)!;
    return 2 * size(out) * inner;
  }
}

/** Bytes a memory-bound kernel reads and writes (its inputs and outputs, float32). */
function bytes(k: KernelInfo): number {
  const all = [...k.inputShapes, ...k.outputShapes].filter((s): s is number[] => Array.isArray(s));
  return 4 * all.reduce((t, s) => t + tf.util.sizeFromShape(s), 0);
}

/**
 * One core's ceilings (medians): the GEMM micro-kernel alone on operands
 * packed once (a [200, 784] x [784, 500] product, the seed's dense layer),
 * and a 16 MiB copy's bandwidth.
 */
function measureCeilings(): { gflops: number; gbs: number } {
  const [m, k, n] = [200, 784, 500], simd = simdFor(tf.backend() as BackendWasm);
  const ap = 16 * Math.ceil(m / 4) * k, bp = 32 * Math.ceil(n / 8) * k;
  const s = simd.scratch(128 + ap + bp + 4 * m * n), a = s + 128, b = a + ap, c = b + bp;
  simd.heapF32(a, (ap + bp) / 4).fill(0.5);
  const gemm: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    simd.k.gemm(a, b, c, 4 * n, m, n, k, s);
    gemm.push((2 * m * n * k) / ((performance.now() - t0) * 1e6));
  }
  const src = new Float32Array(4 << 20).fill(1), dst = new Float32Array(4 << 20), copy: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    dst.set(src);
    copy.push((2 * src.byteLength) / ((performance.now() - t0) * 1e6));
  }
  return { gflops: median(gemm.slice(5)), gbs: median(copy.slice(5)) };
}

/** One main-thread step of `config` on batch 100 (median of 5 profiles), kernel by kernel. */
async function profileStep(name: string, config: ModelConfig, digitLoss: number) {
  const t = createTrainer(initParams(config, createRng(1)), config, 3e-4, digitLoss);
  const step = (k: number) => {
    const { batch, same } = batches[k % batches.length];
    trainStep(t, batch, same, undefined, digitLoss ? digitsOf(k % batches.length) : undefined);
  };
  for (let k = 0; k < 3; k++) step(k);
  const runs: KernelInfo[][] = [];
  for (let r = 0; r < 5; r++) runs.push((await tf.profile(() => step(r))).kernels);
  disposeTrainer(t);
  // The same kernel calls in the same order every step: the median time of each call.
  const calls = runs[0].map((k, i) => ({ k, ms: median(runs.map((run) => run[i].kernelTimeMs as number)) }));
  const flat = calls.filter(({ k }) => !nests(k.name));
  const total = flat.reduce((s, c) => s + c.ms, 0);
  const nominal = flat.reduce((s, c) => s + (flops(c.k) ?? 0), 0);
  console.log(
    `${name}: one step of 100 pairs on the main thread, kernels ${total.toFixed(1)} ms; ` +
      `${(nominal / 1e6 / 100).toFixed(1)} MFLOP a pair nominal, so ` +
      `${(ceilings.gflops * 1e9 * navigator.hardwareConcurrency / (nominal / 100)).toFixed(0)} pairs/s ` +
      `is the GEMM's rate on every core`,
  );
  const rows = flat.filter((c) => c.ms >= 0.1).sort((x, y) => y.ms - x.ms);
  for (const { k, ms } of rows) {
    const f = flops(k);
    const rate = f === undefined
      ? `${(bytes(k) / (ms * 1e6)).toFixed(1).padStart(5)} GB/s    ${
        (100 * bytes(k) / (ms * 1e6) / ceilings.gbs).toFixed(0).padStart(3)
      }% of copy`
      : `${(f / (ms * 1e6)).toFixed(1).padStart(5)} GFLOP/s ${
        (100 * f / (ms * 1e6) / ceilings.gflops).toFixed(0).padStart(3)
      }% of GEMM`;
    const shapes = (k.inputShapes as (number[] | null)[]).filter((s) => s).map((s) => `[${s}]`).join(" ");
    console.log(`  ${k.name.padEnd(30)} ${ms.toFixed(2).padStart(6)} ms  ${rate}  ${shapes}`);
  }
}

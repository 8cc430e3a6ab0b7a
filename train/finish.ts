// After training: quantize, choose the threshold on validation pairs with the
// model that will ship, measure both models on both test protocols, write
// weights/ (verified, atomically) and its report. Prints the results table.
import * as tf from "@tensorflow/tfjs";
import { buildArtifact, loadArtifact } from "../shared/artifact.ts";
import type { BackendName } from "../shared/backend.ts";
import { sigmoid } from "../shared/model.ts";
import type { Quantize } from "../shared/weights.ts";
import { readArtifactDir, writeArtifactDir } from "./artifact_io.ts";
import { evaluateProtocols, formatTable, scorePairs } from "./eval/evaluate.ts";
import type { TrainOptions, TrainResult } from "./loop.ts";
import { chooseThreshold } from "./eval/metrics.ts";
import {
  runViews,
  scoreViews,
  thresholdPriors,
  type ThresholdRule,
  viewLines,
  viewScores,
} from "./eval/validation.ts";
import type { Dataset } from "./data/mnist.ts";
import { writeReport } from "./report/main.ts";

export interface FinishOptions {
  out: string;
  recipe: string;
  quantize: Quantize;
  thresholdRule: ThresholdRule;
  backend: BackendName;
  report: boolean;
}

export async function finishRun(result: TrainResult, opts: TrainOptions, data: Dataset, f: FinishOptions) {
  const clock = performance.now(), took = () => `${((performance.now() - clock) / 1000).toFixed(1)} s`;
  const times: string[] = [];
  const trainPairs = opts.epochs * opts.stepsPerEpoch * opts.batchSize;
  const generatedBy = `siamese-verifier train, TF.js ${tf.version.tfjs} (${f.backend})`;
  const probe = await buildArtifact(result.params, opts.model, 0.5, f.quantize, generatedBy);
  const shipped = await loadArtifact(JSON.stringify(probe.modelJson), probe.bin);
  const valLogits = scorePairs(shipped.params, opts.model, data.train.images.pixels, result.valPairs);
  const priors = thresholdPriors(f.thresholdRule, data.train.labels);
  const threshold = chooseThreshold(valLogits.map(sigmoid), result.valPairs.same, priors);
  const ruleText = `maximises ${
    priors.length > 1 ? "the lowest " : ""
  }validation accuracy at a same-digit prior of ${
    priors.map((p) => p.toFixed(4)).join(" and ")
  } (${f.thresholdRule})`;
  const views = runViews(data.train, opts, result.valPairs);
  const validation = viewScores(views, scoreViews(shipped.params, opts.model, views), threshold);
  const artifact = await buildArtifact(result.params, opts.model, threshold, f.quantize, generatedBy);
  const test = { pixels: data.test.images.pixels, labels: data.test.labels };
  const quantized = evaluateProtocols(shipped.params, opts.model, test, threshold);
  const float = evaluateProtocols(result.params, opts.model, test, threshold);
  console.log(
    `\nthreshold ${
      threshold.toFixed(4)
    }: ${ruleText}, on ${opts.valPairs} validation pairs (quantized model)`,
  );
  console.log(`validation at that threshold: ${viewLines(validation).join(", ")}`);
  console.log(formatTable([
    ...Object.entries(quantized).map(([k, r]) => [`${f.quantize} ${k}`, r] as [string, typeof r]),
    ...Object.entries(float).map(([k, r]) => [`float32 ${k}`, r] as [string, typeof r]),
  ]));

  times.push(`quantization, threshold and evaluation ${took()}`);
  const floatBytes = Object.values(result.params).reduce((s, p) => s + p.values.length * 4, 0);
  const meta = {
    generatedBy,
    createdAt: new Date().toISOString(),
    // What the bytes depend on: the command (recipe, seed, workers, backend), the versions, the CPU class.
    command: ["deno task train", ...Deno.args].join(" "),
    backend: f.backend,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    cpu: { target: Deno.build.target, cores: navigator.hardwareConcurrency },
    recipe: { name: f.recipe, ...opts },
    threshold,
    thresholdRule: `${ruleText}, on the validation pairs, quantized model`,
    data: data.source,
    weights: {
      quantize: f.quantize,
      bytes: artifact.bin.length,
      float32Bytes: floatBytes,
      sha256: artifact.modelJson.userDefinedMetadata.files,
    },
    training: {
      seconds: result.seconds,
      pairs: trainPairs,
      pairsPerSecond: trainPairs / result.seconds,
      epochs: result.epochs,
    },
    validation,
    metrics: { quantized, float32: float },
  };
  // Swap weights/ in only after the written copy reloads (hashes checked) and
  // scores a slice of validation pairs exactly as the in-memory model did.
  const slice = {
    a: result.valPairs.a.subarray(0, 500),
    b: result.valPairs.b.subarray(0, 500),
    same: result.valPairs.same,
  };
  await writeArtifactDir(f.out, {
    "model.json": JSON.stringify(artifact.modelJson, null, 1),
    "weights.bin": artifact.bin,
    "meta.json": JSON.stringify(meta, null, 1),
    "history.json": JSON.stringify({
      stepLosses: result.stepLosses.map((l) => +l.toFixed(5)),
      epochs: result.epochs,
    }),
  }, async (tmp) => {
    const back = await readArtifactDir(tmp);
    const again = scorePairs(back.params, back.config, data.train.images.pixels, slice);
    if (back.threshold !== threshold || again.some((v, i) => v !== valLogits[i])) {
      throw new Error(`Refusing to replace ${f.out}/: the written artifact does not reproduce the model`);
    }
  });
  times.push(`verified export ${took()}`);
  console.log(
    `wrote ${f.out}/ (weights ${artifact.bin.length} bytes = ${
      (100 * artifact.bin.length / floatBytes).toFixed(1)
    }% of float32)`,
  );
  if (f.report) {
    const history = { stepLosses: result.stepLosses, epochs: result.epochs };
    const files = await writeReport(`${f.out.replace(/\/+$/, "")}/report`, {
      params: shipped.params,
      config: opts.model,
      threshold,
      test,
      history,
    }, meta);
    console.log(`wrote ${f.out}/report/ (${files.length} files)`);
    times.push(`report ${took()}`);
  }
  console.log(`after training: ${times.join(", ")} (cumulative)`);
}

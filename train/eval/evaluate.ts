// Scoring pair sets with the inference model, and the metric tables.
import { sigmoid } from "../../shared/model.ts";
import { KernelModel } from "../../shared/kernels/infer.ts";
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import { balancedPairs, fillBatch, type Pairs, sequentialPairs } from "../data/pairs.ts";
import { createRng } from "../../shared/rng.ts";
import { type Report, report } from "./metrics.ts";

/** Logits for every pair (the edge's kernels), in chunks of `chunk` pairs. Float32Array(pairs). */
export function scorePairs(
  params: ParamMap,
  config: ModelConfig,
  pixels: Uint8Array | Float32Array,
  pairs: Pairs,
  chunk = 500,
): Float32Array {
  const model = new KernelModel(params, config);
  const out = new Float32Array(pairs.a.length);
  const buf = new Float32Array(2 * chunk * config.inputSize ** 2);
  for (let s = 0; s < out.length; s += chunk) {
    const n = Math.min(chunk, out.length - s);
    const batch = fillBatch(pixels, pairs, s, n, n === chunk ? buf : undefined);
    out.set(model.pairLogits(batch), s);
  }
  return out;
}

/** Mean binary cross-entropy of logits against 0/1 labels (stable form). */
export function bceWithLogits(logits: Float32Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i];
    s += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return s / logits.length;
}

/** The seed's decision rule, logit > 0.5, as a probability threshold. */
export const SEED_RULE_THRESHOLD = sigmoid(0.5);

/** Report for logits at a probability threshold. */
export function reportLogits(logits: Float32Array, labels: Uint8Array, threshold: number): Report {
  return report(logits.map(sigmoid), labels, threshold);
}

const pct = (x: number) => (100 * x).toFixed(2);

/** Rows of a results table: one per (name, report). */
export function formatTable(rows: [string, Report][]): string {
  const head = [
    "",
    "pairs",
    "prev%",
    "thr",
    "prec%",
    "recall%",
    "acc%",
    "bal.acc%",
    "F1%",
    "AUC",
    "EER%",
    "TAR@1e-3%",
  ];
  const body = rows.map(([name, r]) => [
    name,
    String(r.pairs),
    pct(r.prevalence),
    r.threshold.toFixed(4),
    pct(r.precision),
    pct(r.recall),
    pct(r.accuracy),
    pct(r.balancedAccuracy),
    pct(r.f1),
    r.auc.toFixed(5),
    pct(r.eer),
    pct(r.tarAtFar1e3),
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ")).join("\n");
}

/** Seed of the balanced test protocol: fixed, independent of training. */
export const BALANCED_TEST_SEED = 20240229;

/** The two test protocols over the official test split. */
export function testProtocols(labels: Uint8Array, balancedCount = 10_000) {
  const all = Int32Array.from({ length: labels.length }, (_, i) => i);
  return {
    consecutive: sequentialPairs(labels),
    balanced: balancedPairs(all, labels, balancedCount, createRng(BALANCED_TEST_SEED)),
  };
}

/** Reports on both protocols at `threshold` and at the seed's rule. */
export function evaluateProtocols(
  params: ParamMap,
  config: ModelConfig,
  test: { pixels: Uint8Array; labels: Uint8Array },
  threshold: number,
  balancedCount = 10_000,
) {
  const p = testProtocols(test.labels, balancedCount);
  const out: Record<string, Report> = {};
  for (const [name, pairs] of Object.entries(p)) {
    const logits = scorePairs(params, config, test.pixels, pairs);
    out[name] = reportLogits(logits, pairs.same, threshold);
    out[`${name} (seed rule logit>0.5)`] = reportLogits(logits, pairs.same, SEED_RULE_THRESHOLD);
  }
  return out;
}

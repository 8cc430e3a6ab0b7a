// The views of the validation images a recipe and its threshold are judged
// on. All three use held-out training images only, never test data:
// - balanced: the fixed validation pairs, half same-digit;
// - consecutive: the validation images paired in order, (0,1), (2,3), ..., as
//   the consecutive test protocol pairs the test set (~10% same-digit);
// - tilted: the balanced pairs with every image turned up to +-30 deg and
//   slanted up to +-20 deg (one fixed draw), the range of the robustness set's
//   tilted kind (tools/make_robust.ts), which the MNIST pairs cannot see.
import { type Augment, augmentBatch } from "../data/augment.ts";
import { type Pairs, splitIndices } from "../data/pairs.ts";
import type { Split } from "../data/idx.ts";
import { PIXELS, SIDE } from "../../shared/preprocess.ts";
import { createRng } from "../../shared/rng.ts";
import { sigmoid } from "../../shared/model.ts";
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import { scorePairs } from "./evaluate.ts";
import { confusion, rocAuc, sameClassRate, summarize } from "./metrics.ts";

export const THRESHOLD_RULES = ["balanced", "prior", "both"] as const;
/**
 * How the stored threshold is chosen on the balanced validation pairs (see
 * chooseThreshold): for balanced accuracy, for accuracy at the same-digit rate
 * of random digit pairs (prior), or for the lower of the two (both).
 */
export type ThresholdRule = typeof THRESHOLD_RULES[number];

/** The same-digit priors a rule weighs validation pairs by; `labels`: the training labels. */
export function thresholdPriors(rule: ThresholdRule, labels: Uint8Array): number[] {
  const natural = sameClassRate(labels);
  return rule === "balanced" ? [0.5] : rule === "prior" ? [natural] : [0.5, natural];
}

/** The tilted view's turn and slant: the robustness set's tilted kind. */
export const TILT: Augment = { rotate: 30, scale: 0, shift: 0, shear: 20 };

export interface View {
  name: "balanced" | "consecutive" | "tilted";
  /** Images the pairs index, 0..1 (the validation images only), scaled as fillBatch scales uint8. */
  pixels: Float32Array;
  pairs: Pairs;
}

/**
 * The three views over validation images `val` (sorted indices into
 * `pixels`/`labels`) and the balanced validation pairs `valPairs` (indices
 * into the same full set).
 */
export function validationViews(
  pixels: Uint8Array,
  labels: Uint8Array,
  val: Int32Array,
  valPairs: Pairs,
  seed: number,
): View[] {
  const local = new Map<number, number>();
  const own = new Float32Array(val.length * PIXELS), scale = 1 / 255;
  val.forEach((img, k) => {
    local.set(img, k);
    for (let p = 0; p < PIXELS; p++) own[k * PIXELS + p] = pixels[img * PIXELS + p] * scale;
  });
  const at = (i: number) => local.get(i)!;
  const balanced = { a: valPairs.a.map(at), b: valPairs.b.map(at), same: valPairs.same };
  const n = val.length >> 1;
  const a = Int32Array.from({ length: n }, (_, k) => 2 * k), b = a.map((i) => i + 1);
  const consecutive = {
    a,
    b,
    same: Uint8Array.from(a, (i) => labels[val[i]] === labels[val[i + 1]] ? 1 : 0),
  };
  const tilted = own.slice();
  augmentBatch(tilted, SIDE, TILT, createRng(seed ^ 0x711e));
  return [
    { name: "balanced", pixels: own, pairs: balanced },
    { name: "consecutive", pixels: own, pairs: consecutive },
    { name: "tilted", pixels: tilted, pairs: balanced },
  ];
}

/** The views of a run's validation images: the training set split as the run split it. */
export function runViews(train: Split, opts: { valFraction: number; seed: number }, valPairs: Pairs): View[] {
  const { val } = splitIndices(train.labels.length, opts.valFraction, opts.seed);
  return validationViews(train.images.pixels, train.labels, val, valPairs, opts.seed);
}

export interface ViewScore {
  pairs: number;
  accuracy: number;
  auc: number;
}

/** Each view's logits under a model (one scoring per view, whatever the thresholds). */
export function scoreViews(params: ParamMap, config: ModelConfig, views: View[]): Float32Array[] {
  return views.map((v) => scorePairs(params, config, v.pixels, v.pairs));
}

/** Accuracy at `threshold` and ROC AUC on each view, from its logits. */
export function viewScores(
  views: View[],
  logits: Float32Array[],
  threshold: number,
): Record<View["name"], ViewScore> {
  const out = {} as Record<View["name"], ViewScore>;
  views.forEach((v, i) => {
    const m = summarize(confusion(logits[i].map(sigmoid), v.pairs.same, threshold));
    out[v.name] = { pairs: v.pairs.a.length, accuracy: m.accuracy, auc: rocAuc(logits[i], v.pairs.same) };
  });
  return out;
}

/** A line per view: its accuracy at the threshold, AUC and pairs. */
export function viewLines(scores: Record<string, ViewScore>): string[] {
  return Object.entries(scores).map(([name, s]) =>
    `${name} ${(100 * s.accuracy).toFixed(2)}% (AUC ${s.auc.toFixed(5)}, ${s.pairs} pairs)`
  );
}

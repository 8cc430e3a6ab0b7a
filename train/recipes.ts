// Named training recipes, each found by measurement (docs/results.md, "Recipes").
// `seed` is the PyTorch student project's exact recipe (kept so the
// reproduction stays one command); `v2` changes only the learning rate: peak
// 1e-3 with cosine decay to 0. `v3`: a tower twice as wide (16/32 conv
// channels, 256-wide dense layer) ending in softmax digit probabilities, which
// are the embedding the (tied) head compares; the pair loss plus twice the
// digits' cross-entropy; random rotation, scale, shift, slant and stroke width
// on every training image; 7 epochs. `v4`, the default: `v3` with half of the
// training images turned up to +-30 deg and slanted up to +-20 deg instead,
// and the threshold that serves balanced and natural same-digit rates alike
// (both chosen on validation views against time: docs/results.md).
import type { Augment } from "./data/augment.ts";
import { type ModelConfig, SEED_MODEL } from "../shared/config.ts";
import type { ThresholdRule } from "./eval/validation.ts";

export interface Recipe {
  epochs: number;
  stepsPerEpoch: number;
  /** Pairs per step. */
  batchSize: number;
  /** Adam's (peak) learning rate. */
  lr: number;
  /** "constant" (the seed) or "cosine" decay from lr to 0 over the run. */
  lrSchedule: "constant" | "cosine";
  /** Random affine augmentation of training images; null for none. */
  augment: Augment | null;
  /** Tower sizes; classes > 0 ends the tower in digit probabilities (shared/config.ts). */
  tower: Pick<ModelConfig, "conv1" | "conv2" | "embedding" | "classes">;
  /** Weight of the digit cross-entropy on those probabilities (0: the pair loss alone). */
  digitLoss: number;
  /**
   * Data-parallel replicas (0: the main thread). Part of the recipe because
   * the weights' bytes depend on it: each replica normalises its own share of
   * the batch, and the gradients are summed in replica order.
   */
  workers: number;
  /** The TF.js backend: also part of the bytes (`--backend auto` picks WebGPU on real GPU hardware). */
  backend: "wasm" | "webgpu" | "cpu";
  /** How the stored threshold is chosen on the validation pairs (train/eval/validation.ts). */
  thresholdRule: ThresholdRule;
}

/** A recipe as listed: its settings and the line `deno task train --help` prints for it. */
export interface NamedRecipe extends Recipe {
  /** What the recipe is, in a phrase (the help adds its epochs, steps, batch and lr). */
  description: string;
}

const SEED_TOWER = {
  conv1: SEED_MODEL.conv1,
  conv2: SEED_MODEL.conv2,
  embedding: SEED_MODEL.embedding,
  classes: 0,
};

/** `--augment on`: rotation +-12 deg, scale +-10%, shift +-2 px. */
export const AUGMENT = { rotate: 12, scale: 0.1, shift: 2 };

const SEED: NamedRecipe = {
  description: "the PyTorch project's exact recipe and model, no augmentation",
  epochs: 10,
  stepsPerEpoch: 480,
  batchSize: 100,
  lr: 3e-4,
  lrSchedule: "constant",
  augment: null,
  tower: SEED_TOWER,
  digitLoss: 0,
  workers: 2,
  backend: "wasm",
  thresholdRule: "balanced",
};

const V3: NamedRecipe = {
  description: "a wider tower ending in digit probabilities, digit loss, augmentation",
  epochs: 7,
  stepsPerEpoch: 480,
  batchSize: 100,
  lr: 1e-3,
  lrSchedule: "cosine",
  augment: { rotate: 10, scale: 0.1, shift: 1.5, shear: 10, stroke: 0.2 },
  tower: { conv1: 16, conv2: 32, embedding: 256, classes: 10 },
  digitLoss: 2,
  workers: 2,
  backend: "wasm",
  thresholdRule: "balanced",
};

export const RECIPES: Record<string, NamedRecipe> = {
  seed: SEED,
  v2: {
    ...SEED,
    description: "the seed with a higher peak learning rate, cosine-decayed to 0",
    lr: 1e-3,
    lrSchedule: "cosine",
  },
  v3: V3,
  v4: {
    ...V3,
    description: "v3 with half of the images turned and slanted over wider ranges, threshold for both priors",
    augment: { ...V3.augment!, tilt: { share: 0.5, rotate: 30, shear: 20 } },
    thresholdRule: "both",
  },
};

export const DEFAULT_RECIPE = "v4";

// The model's typed config. The config a run used is stored with its weights
// (weights/model.json, userDefinedMetadata.config) and the edge rebuilds the
// model from it, so serving cannot drift from training.

/** Architecture of the Siamese tower and head. */
export interface ModelConfig {
  /** Input side in pixels (square, one channel). */
  inputSize: number;
  /** Output channels of the two 3x3 conv layers. */
  conv1: number;
  conv2: number;
  /** Width of the tower's dense layer (the embedding, unless `classes` is set). */
  embedding: number;
  /** Batch-norm epsilon and running-average momentum (PyTorch convention). */
  bnEpsilon: number;
  bnMomentum: number;
  /**
   * When > 0 the tower ends in one more dense layer, to this many digit
   * classes, and a softmax: the class probabilities are the embedding that
   * the head compares (and training can add their cross-entropy with each
   * image's digit). 0 or absent: the dense layer's output is the embedding,
   * as in the seed.
   */
  classes?: number;
}

/**
 * The seed's sizes: 395,297 trainable parameters.
 *
 * @example
 * ```ts
 * import { SEED_MODEL } from "./config.ts";
 * import { trainableCount } from "./params.ts";
 *
 * if (trainableCount(SEED_MODEL) !== 395_297) throw new Error("not the seed's size");
 * const wider = { ...SEED_MODEL, conv1: 16, conv2: 32 }; // a variant: a copy with fields changed
 * if (trainableCount(wider) <= trainableCount(SEED_MODEL)) throw new Error("not larger");
 * ```
 */
export const SEED_MODEL: ModelConfig = {
  inputSize: 28,
  conv1: 8,
  conv2: 16,
  embedding: 500,
  bnEpsilon: 1e-5,
  bnMomentum: 0.1,
};

/**
 * Validate a config read from disk or flags; throws naming the bad field.
 * Returns the config itself.
 *
 * @example
 * ```ts
 * import { checkModelConfig, SEED_MODEL } from "./config.ts";
 *
 * checkModelConfig(SEED_MODEL); // valid: returned as is
 * try {
 *   checkModelConfig({ ...SEED_MODEL, inputSize: 30 });
 *   throw new Error("accepted");
 * } catch (e) {
 *   if (!(e as Error).message.includes("inputSize")) throw e; // 30 is not divisible by 4
 * }
 * ```
 */
export function checkModelConfig(c: ModelConfig): ModelConfig {
  for (const k of ["inputSize", "conv1", "conv2", "embedding"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new Error(`Invalid model config: ${k} = ${JSON.stringify(c[k])} is not a positive integer`);
    }
  }
  if (c.classes !== undefined && !(Number.isInteger(c.classes) && c.classes >= 0)) {
    throw new Error(`Invalid model config: classes = ${JSON.stringify(c.classes)} is not an integer >= 0`);
  }
  if (c.inputSize % 4 !== 0) {
    throw new Error(`Invalid model config: inputSize = ${c.inputSize} must be divisible by 4`);
  }
  if (!(c.bnEpsilon > 0) || !(c.bnMomentum > 0 && c.bnMomentum <= 1)) {
    throw new Error(`Invalid model config: bnEpsilon/bnMomentum out of range`);
  }
  return c;
}

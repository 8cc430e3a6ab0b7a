// Parameter layout of the Siamese model: names, shapes, initialisation.
// Weights travel as a flat name -> Float32Array map, the unit that the
// artifact stores, training turns into variables and the edge folds.
import type { ModelConfig } from "./config.ts";
import type { Rng } from "./rng.ts";

/** Parameters by name (e.g. "conv1/kernel"): each a shape and its values, row-major. */
export type ParamMap = Record<string, { shape: number[]; values: Float32Array }>;

/** One row of the parameter table: name, shape, trainable (BN stats are not). */
export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  /** Layer it belongs to, for the summary table. */
  layer: string;
  /**
   * kaiming: normal, std sqrt(2 / fan_out); xavier: uniform +-sqrt(6 / (fan_in + fan_out));
   * const: every entry `value`.
   */
  init: "kaiming" | "xavier" | "ones" | "zeros" | "const";
  value?: number;
}

function bn(layer: string, c: number): ParamSpec[] {
  return [
    { name: `${layer}/gamma`, shape: [c], trainable: true, layer, init: "ones" },
    { name: `${layer}/beta`, shape: [c], trainable: true, layer, init: "zeros" },
    { name: `${layer}/moving_mean`, shape: [c], trainable: false, layer, init: "zeros" },
    { name: `${layer}/moving_variance`, shape: [c], trainable: false, layer, init: "ones" },
  ];
}

function dense(layer: string, shape: number[], init: "kaiming" | "xavier"): ParamSpec[] {
  const out = shape[shape.length - 1];
  return [
    { name: `${layer}/kernel`, shape, trainable: true, layer, init },
    { name: `${layer}/bias`, shape: [out], trainable: true, layer, init: "zeros" },
  ];
}

/**
 * The head on digit probabilities: its weights are tied (train/step.ts), so
 * they start equal, at logit = 3 - 3 * L1(p1, p2): p(same) 0.95 for identical
 * distributions, 0.05 for disjoint ones, 0.5 halfway. (Adam moves each weight
 * by about the learning rate per step, so from 0 the head would spend the
 * whole run just reaching a useful scale.)
 */
function tiedHead(classes: number): ParamSpec[] {
  return [
    { name: "head/kernel", shape: [classes, 1], trainable: true, layer: "head", init: "const", value: -3 },
    { name: "head/bias", shape: [1], trainable: true, layer: "head", init: "const", value: 3 },
  ];
}

/**
 * Every parameter of the model in a fixed order (the artifact's order).
 *
 * @example
 * ```ts
 * import { paramSpecs } from "./params.ts";
 * import { SEED_MODEL } from "./config.ts";
 *
 * const specs = paramSpecs(SEED_MODEL);
 * if (specs[0].name !== "conv1/kernel" || specs[0].shape.join() !== "3,3,1,8") throw new Error("first");
 * const fc = specs.find((s) => s.name === "fc/kernel")!; // 7x7 after two 2x2 pools, 16 channels
 * if (fc.shape.join() !== "784,500" || fc.init !== "xavier") throw new Error("fc");
 * if (specs.filter((s) => !s.trainable).length !== 6) throw new Error("BN running stats: 3 layers x 2");
 * ```
 */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const flat = (c.inputSize / 4) ** 2 * c.conv2;
  return [
    ...dense("conv1", [3, 3, 1, c.conv1], "kaiming"),
    ...bn("bn1", c.conv1),
    ...dense("conv2", [3, 3, c.conv1, c.conv2], "kaiming"),
    ...bn("bn2", c.conv2),
    ...dense("fc", [flat, c.embedding], "xavier"),
    ...bn("bn3", c.embedding),
    ...(c.classes ? dense("cls", [c.embedding, c.classes], "xavier") : []),
    ...(c.classes ? tiedHead(c.classes) : dense("head", [c.embedding, 1], "xavier")),
  ];
}

/**
 * Fresh parameters, initialised as the seed did: conv kernels Kaiming-normal
 * (fan_out, ReLU gain), dense kernels Xavier-uniform, biases 0, BN gamma 1,
 * beta 0, running stats 0/1.
 *
 * @example
 * ```ts
 * import { initParams } from "./params.ts";
 * import { SEED_MODEL } from "./config.ts";
 * import { createRng } from "./rng.ts";
 *
 * const a = initParams(SEED_MODEL, createRng(42)), b = initParams(SEED_MODEL, createRng(42));
 * const [x, y] = [a["fc/kernel"].values, b["fc/kernel"].values];
 * if (!x.every((v, i) => v === y[i])) throw new Error("not reproducible from the seed");
 * if (!a["bn1/gamma"].values.every((g) => g === 1)) throw new Error("BN gamma does not start at 1");
 * ```
 */
export function initParams(c: ModelConfig, rng: Rng): ParamMap {
  const out: ParamMap = {};
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const fanOut = s.shape[s.shape.length - 1], fanIn = n / fanOut;
    if (s.init === "ones") v.fill(1);
    else if (s.init === "const") v.fill(s.value!);
    else if (s.init === "kaiming") {
      const std = Math.sqrt(2 / (n / s.shape[2])); // fan_out = kh * kw * out channels
      for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
    } else if (s.init === "xavier") {
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) v[i] = (2 * rng.next() - 1) * bound;
    }
    out[s.name] = { shape: s.shape, values: v };
  }
  return out;
}

/**
 * Count of trainable parameters (the seed's 395,297 for SEED_MODEL).
 *
 * @example
 * ```ts
 * import { trainableCount } from "./params.ts";
 * import { SEED_MODEL } from "./config.ts";
 *
 * if (trainableCount(SEED_MODEL) !== 395_297) throw new Error("not the seed's count");
 * ```
 */
export function trainableCount(c: ModelConfig): number {
  return paramSpecs(c).filter((s) => s.trainable).reduce(
    (a, s) => a + s.shape.reduce((x, y) => x * y, 1),
    0,
  );
}

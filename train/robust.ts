// The robustness set (tests/robust/, made by tools/make_robust.ts): digits
// that are not MNIST, each sent through the edge's own decoding and
// preprocessing, then scored as balanced pairs at the stored threshold.
import { decodeImage } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";
import type { ModelConfig } from "../shared/config.ts";
import type { ParamMap } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { balancedPairs } from "./pairs.ts";
import { reportLogits, scorePairs } from "./evaluate.ts";

export const ROBUST_DIR = new URL("../tests/robust/", import.meta.url).pathname;

/** Images as the edge would feed them: Float32Array(n*784), labels and kinds. */
export function loadRobustSet(dir = ROBUST_DIR) {
  const entries = JSON.parse(Deno.readTextFileSync(`${dir}/labels.json`)) as {
    file: string;
    digit: number;
    kind: string;
  }[];
  const images = new Float32Array(entries.length * 784);
  entries.forEach((e, i) =>
    images.set(toMnist(decodeImage(Deno.readFileSync(`${dir}/${e.file}`), e.file), e.file), i * 784)
  );
  return { images, labels: Uint8Array.from(entries, (e) => e.digit), kinds: entries.map((e) => e.kind) };
}

/**
 * Balanced pairs of the robustness set (fixed seed) scored at `threshold`:
 * `count` pairs over the whole set, then count/4 within each kind.
 * Returns rows keyed "robustness" and "robustness: KIND".
 */
export function evaluateRobust(
  params: ParamMap,
  config: ModelConfig,
  set: ReturnType<typeof loadRobustSet>,
  threshold: number,
  count = 4000,
) {
  const all = Int32Array.from({ length: set.labels.length }, (_, i) => i);
  const score = (pool: Int32Array, n: number) => {
    const pairs = balancedPairs(pool, set.labels, n, createRng(4242));
    return reportLogits(scorePairs(params, config, set.images, pairs), pairs.same, threshold);
  };
  const rows: Record<string, ReturnType<typeof reportLogits>> = { robustness: score(all, count) };
  for (const kind of new Set(set.kinds)) {
    rows[`robustness: ${kind}`] = score(all.filter((i) => set.kinds[i] === kind), count >> 2);
  }
  return rows;
}

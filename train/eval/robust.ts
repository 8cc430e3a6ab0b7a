// The robustness set (data/robust/, made by tools/make_robust.ts): digits
// that are not MNIST, each sent through the edge's own decoding and
// preprocessing, then scored as balanced pairs at the stored threshold.
// Phone photos are rebuilt from their recipe (tools/phone_photo.ts) unless
// the file is there (the HEIC copies).
import { decodeImage } from "../../shared/decode.ts";
import { type PhoneOptions, phonePhoto } from "../../tools/phone_photo.ts";
import { PIXELS, toMnist } from "../../shared/preprocess.ts";
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import { createRng } from "../../shared/rng.ts";
import { balancedPairs } from "../data/pairs.ts";
import { reportLogits, scorePairs } from "./evaluate.ts";

export const ROBUST_DIR = new URL("../../data/robust/", import.meta.url).pathname;

interface Entry {
  file: string;
  digit: number;
  kind: string;
  /** Phone photos: the image photographed and how (tools/phone_photo.ts). */
  source?: string;
  orientation?: number;
  seed?: number;
  format?: PhoneOptions["format"];
}

/** The bytes of an entry: its file, or the phone photo its recipe makes at `phone` size. */
async function bytesOf(dir: string, e: Entry, phone: { width: number; height: number }): Promise<Uint8Array> {
  const path = `${dir}/${e.file}`;
  if (!e.source || (await Deno.stat(path).then(() => true, () => false))) return Deno.readFile(path);
  return phonePhoto(await Deno.readFile(`${dir}/${e.source}`), { ...e, ...phone });
}

/**
 * Images as the edge would feed them: Float32Array(n * PIXELS), labels and kinds.
 * `phone` sizes the rebuilt phone photos (default 4032x3024, 12 MP).
 */
export async function loadRobustSet(dir = ROBUST_DIR, phone = { width: 4032, height: 3024 }) {
  const entries = JSON.parse(Deno.readTextFileSync(`${dir}/labels.json`)) as Entry[];
  const images = new Float32Array(entries.length * PIXELS);
  for (const [i, e] of entries.entries()) {
    images.set(toMnist(await decodeImage(await bytesOf(dir, e, phone), e.file), e.file), i * PIXELS);
  }
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
  set: Awaited<ReturnType<typeof loadRobustSet>>,
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

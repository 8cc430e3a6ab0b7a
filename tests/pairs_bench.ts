// deno task bench:pairs: iterating pair samples as objects vs tuples (the
// seed's dict-vs-tuple benchmark), over 48,000 random training pairs.
import { balancedPairs, pairSample, pairTuple } from "../train/data/pairs.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { createRng } from "../shared/rng.ts";

const { train } = loadDataset();
const pool = Int32Array.from({ length: train.labels.length }, (_, i) => i);
const pairs = balancedPairs(pool, train.labels, 48_000, createRng(1));
const px = train.images.pixels, labels = train.labels;

Deno.bench("object samples {img1, img2, class1, class2, same}", { group: "format", baseline: true }, () => {
  let s = 0;
  for (let k = 0; k < pairs.a.length; k++) {
    const o = pairSample(px, labels, pairs, k);
    s += o.img1[400] + o.img2[400] + o.class1 + (o.same ? 1 : 0);
  }
  if (s < 0) throw new Error("unreachable");
});

Deno.bench("tuple samples [img1, img2, class1, class2, same]", { group: "format" }, () => {
  let s = 0;
  for (let k = 0; k < pairs.a.length; k++) {
    const [img1, img2, class1, , same] = pairTuple(px, labels, pairs, k);
    s += img1[400] + img2[400] + class1 + (same ? 1 : 0);
  }
  if (s < 0) throw new Error("unreachable");
});

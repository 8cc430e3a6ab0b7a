import {
  chooseThreshold,
  confusion,
  equalErrorRate,
  rocAuc,
  sameClassRate,
  summarize,
  tarAtFar,
} from "../train/eval/metrics.ts";
import { assertClose, assertEquals } from "./assert.ts";

Deno.test("summarize() reproduces the seed's 88.79 / 97.78 / 98.82 from 396/9/50/4545", () => {
  const m = summarize({ tp: 396, fn: 9, fp: 50, tn: 4545 });
  assertEquals([m.precision, m.recall, m.accuracy].map((x) => (100 * x).toFixed(2)), [
    "88.79",
    "97.78",
    "98.82",
  ]);
  assertClose(m.prevalence, 0.081, 1e-12);
  assertClose(m.balancedAccuracy, (396 / 405 + 4545 / 4595) / 2, 1e-12);
});

Deno.test("confusion() counts scores strictly above the threshold as same", () => {
  assertEquals(confusion([0.9, 0.5, 0.2, 0.7], [1, 1, 0, 0], 0.5), { tp: 1, fn: 1, tn: 1, fp: 1 });
});

Deno.test("rocAuc() equals the fraction of correctly ordered pos/neg pairs, ties half", () => {
  // pos {0.9, 0.4}, neg {0.5, 0.4, 0.1}: ordered 0.9>all (3), 0.4>0.1 (1), 0.4=0.4 (0.5) -> 4.5/6
  assertClose(rocAuc([0.9, 0.4, 0.5, 0.4, 0.1], [1, 1, 0, 0, 0]), 4.5 / 6, 1e-12);
  assertEquals(rocAuc([0.9, 0.1], [1, 0]), 1);
});

Deno.test("equalErrorRate() and tarAtFar() on a separable and an overlapping set", () => {
  assertEquals(equalErrorRate([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]), 0);
  // pos {0.9, 0.3}, neg {0.6, 0.1}: at thr between 0.6/0.9 FAR 0 FRR .5; below 0.6 FAR .5 FRR .5
  assertClose(equalErrorRate([0.9, 0.3, 0.6, 0.1], [1, 1, 0, 0]), 0.5, 1e-12);
  assertEquals(tarAtFar([0.9, 0.3, 0.6, 0.1], [1, 1, 0, 0], 1e-3), 0.5);
});

Deno.test("chooseThreshold() separates the classes when it can", () => {
  const t = chooseThreshold([0.95, 0.8, 0.6, 0.3, 0.1], [1, 1, 1, 0, 0]);
  assertClose(t, 0.45, 1e-12);
});

Deno.test("chooseThreshold() with a low prior trades recall for specificity", () => {
  // pos {0.9, 0.6}, neg {0.7, 0.1, 0.05}: the balanced cut keeps both positives
  // (TPR 1, TNR 2/3); at prior 0.1 rejecting 0.7 is worth more (TPR 1/2, TNR 1).
  const s = [0.9, 0.6, 0.7, 0.1, 0.05], y = [1, 1, 0, 0, 0];
  assertClose(chooseThreshold(s, y, 0.5), 0.35, 1e-12);
  assertClose(chooseThreshold(s, y, 0.1), 0.8, 1e-12);
});

Deno.test("chooseThreshold() with two priors maximises the lower of the two accuracies", () => {
  // pos {0.9, 0.7, 0.5}, neg {0.8, 0.6, 0.4, 0.3, 0.2}. Cut at 0.45: balanced 0.8,
  // at prior 0.1 0.64; at 0.85: 0.667 and 0.933; at 0.65 (TPR 2/3, TNR 4/5): 0.733
  // and 0.787, the best lower figure of any cut.
  const s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], y = [1, 0, 1, 0, 1, 0, 0, 0];
  assertClose(chooseThreshold(s, y, 0.5), 0.45, 1e-12);
  assertClose(chooseThreshold(s, y, 0.1), 0.85, 1e-12);
  assertClose(chooseThreshold(s, y, [0.5, 0.1]), 0.65, 1e-12);
  assertClose(chooseThreshold(s, y, [0.1, 0.5]), 0.65, 1e-12);
});

Deno.test("sameClassRate() is the sum of squared class frequencies", () => {
  assertClose(sameClassRate([0, 0, 1, 1]), 0.5, 1e-12);
  assertClose(sameClassRate([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), 0.1, 1e-12);
});

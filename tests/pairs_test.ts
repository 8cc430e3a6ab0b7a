import {
  balancedPairs,
  fillBatch,
  pairSample,
  pairTuple,
  sequentialPairs,
  splitIndices,
} from "../train/data/pairs.ts";
import { createRng } from "../shared/rng.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { assert, assertEquals } from "./assert.ts";

const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);

Deno.test("splitIndices() makes disjoint 80/20 sets covering every image", () => {
  const { train, val } = splitIndices(1000, 0.2, 3);
  assertEquals([train.length, val.length], [800, 200]);
  const seen = new Set([...train, ...val]);
  assertEquals(seen.size, 1000);
});

Deno.test("balancedPairs() draws only from its pool, exactly half same-class, flags correct", () => {
  const { train, val } = splitIndices(1000, 0.2, 3);
  const valSet = new Set(val);
  const p = balancedPairs(train, labels, 500, createRng(9));
  let same = 0;
  for (let k = 0; k < 500; k++) {
    assert(!valSet.has(p.a[k]) && !valSet.has(p.b[k]), "pair leaves its split");
    assert(p.a[k] !== p.b[k], "an image paired with itself");
    assertEquals(p.same[k], labels[p.a[k]] === labels[p.b[k]] ? 1 : 0);
    same += p.same[k];
  }
  assertEquals(same, 250);
});

Deno.test("balancedPairs() is deterministic by seed and differs across seeds", () => {
  const pool = Int32Array.from({ length: 1000 }, (_, i) => i);
  const a = balancedPairs(pool, labels, 100, createRng(1)),
    b = balancedPairs(pool, labels, 100, createRng(1));
  const c = balancedPairs(pool, labels, 100, createRng(2));
  assertEquals([...a.a, ...a.b], [...b.a, ...b.b]);
  assert([...a.a].some((x, i) => x !== c.a[i]));
});

Deno.test("sequentialPairs() pairs image 2k with 2k+1: 5,000 MNIST test pairs, 405 same", () => {
  const { test } = loadDataset();
  const p = sequentialPairs(test.labels);
  assertEquals([p.a.length, p.a[0], p.b[0], p.a[4999], p.b[4999]], [5000, 0, 1, 9998, 9999]);
  assertEquals(p.same.reduce((s, x) => s + x, 0), 405);
});

Deno.test("pairSample() and pairTuple() expose the same sample", () => {
  const pixels = Uint8Array.from({ length: 4 * 784 }, (_, i) => i % 251);
  const p = { a: Int32Array.of(2), b: Int32Array.of(3), same: Uint8Array.of(0) };
  const l = Uint8Array.of(0, 0, 4, 5);
  const o = pairSample(pixels, l, p, 0), t = pairTuple(pixels, l, p, 0);
  assertEquals([o.img1, o.img2, o.class1, o.class2, o.same], t);
  assertEquals(o.img1[0], (2 * 784) % 251);
});

Deno.test("fillBatch() puts first sides then second sides, scaled to 0..1", () => {
  const pixels = new Uint8Array(3 * 784);
  pixels.fill(255, 784, 1568);
  const p = { a: Int32Array.of(1, 0), b: Int32Array.of(2, 1), same: Uint8Array.of(0, 0) };
  const out = fillBatch(pixels, p, 0, 2);
  assertEquals([out[0], out[784], out[2 * 784], out[3 * 784]], [1, 0, 0, 1]);
});

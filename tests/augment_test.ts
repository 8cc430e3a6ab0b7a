import { augmentBatch } from "../train/data/augment.ts";
import { learningRate, type TrainOptions } from "../train/loop.ts";
import { createRng } from "../shared/rng.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

const blob = () => {
  const b = new Float32Array(2 * 784);
  for (let y = 10; y < 18; y++) for (let x = 11; x < 17; x++) b[y * 28 + x] = b[784 + y * 28 + x] = 1;
  return b;
};

Deno.test("augmentBatch() with zero ranges leaves images unchanged", () => {
  const b = blob(), ref = b.slice();
  augmentBatch(b, 28, { rotate: 0, scale: 0, shift: 0 }, createRng(1));
  b.forEach((v, i) => assertClose(v, ref[i], 1e-6, `px ${i}`));
});

Deno.test("augmentBatch() moves ink per image, keeps it in range, and is seeded", () => {
  const a = blob(), b = blob();
  augmentBatch(a, 28, { rotate: 12, scale: 0.1, shift: 2 }, createRng(3));
  augmentBatch(b, 28, { rotate: 12, scale: 0.1, shift: 2 }, createRng(3));
  assertEquals(a, b);
  assert(a.every((v) => v >= 0 && v <= 1));
  const mass = (x: Float32Array) => x.reduce((s, v) => s + v, 0);
  assertClose(mass(a.subarray(0, 784)), 48, 48 * 0.3, "ink mass");
  assert(a.subarray(0, 784).some((v, i) => v !== a[784 + i]), "both images got the same transform");
});

Deno.test("augmentBatch() turns the tilt's share of images over its own ranges", () => {
  // A vertical bar per image; the base ranges are zero, so only tilted images change.
  const n = 400, bars = new Float32Array(n * 784);
  for (let k = 0; k < n; k++) for (let y = 6; y < 22; y++) bars[k * 784 + y * 28 + 14] = 1;
  const moved = (share: number) => {
    const b = bars.slice();
    augmentBatch(
      b,
      28,
      { rotate: 0, scale: 0, shift: 0, tilt: { share, rotate: 40, shear: 20 } },
      createRng(5),
    );
    let count = 0;
    for (let k = 0; k < n; k++) {
      let d = 0;
      for (let p = k * 784; p < (k + 1) * 784; p++) d += Math.abs(b[p] - bars[p]);
      if (d > 1) count++;
    }
    return count;
  };
  assertEquals(moved(0), 0);
  assert(moved(1) > 0.9 * n, `${moved(1)} of ${n} moved at share 1`);
  const half = moved(0.5);
  assert(half > 0.35 * n && half < 0.6 * n, `${half} of ${n} moved at share 0.5`);
});

Deno.test("learningRate(): constant stays, cosine falls from lr to 0", () => {
  const o = { lr: 1e-3, epochs: 2, stepsPerEpoch: 50 } as TrainOptions;
  assertEquals(learningRate({ ...o, lrSchedule: "constant" }, 70), 1e-3);
  const c = { ...o, lrSchedule: "cosine" as const };
  assertEquals(learningRate(c, 0), 1e-3);
  assertClose(learningRate(c, 50), 5e-4, 1e-12);
  assert(learningRate(c, 99) < 1e-6);
});

Deno.test("augmentBatch() slants with shear and changes stroke width with stroke", () => {
  const bar = () => {
    const b = new Float32Array(8 * 784);
    for (let k = 0; k < 8; k++) {
      for (let y = 4; y < 24; y++) for (let x = 13; x < 15; x++) b[k * 784 + y * 28 + x] = 1;
    }
    return b;
  };
  const cx = (img: Float32Array, y0: number, y1: number) => {
    let m = 0, mx = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = 0; x < 28; x++) [m, mx] = [m + img[y * 28 + x], mx + x * img[y * 28 + x]];
    }
    return mx / m;
  };
  const s = bar();
  augmentBatch(s, 28, { rotate: 0, scale: 0, shift: 0, shear: 25 }, createRng(5));
  const slants = Array.from(
    { length: 8 },
    (_, k) => cx(s.subarray(k * 784), 4, 10) - cx(s.subarray(k * 784), 18, 24),
  );
  assert(slants.some((d) => Math.abs(d) > 1.5), `no image slanted: ${slants}`);
  const t = bar(), mass = (k: number) => t.subarray(k * 784, (k + 1) * 784).reduce((a, v) => a + v, 0);
  augmentBatch(t, 28, { rotate: 0, scale: 0, shift: 0, stroke: 1 }, createRng(6));
  const masses = Array.from({ length: 8 }, (_, k) => mass(k));
  assert(masses.some((m) => m > 45) && masses.some((m) => m < 35), `thicker and thinner expected: ${masses}`);
});

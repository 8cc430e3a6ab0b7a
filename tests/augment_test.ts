import { augmentBatch } from "../train/augment.ts";
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

Deno.test("learningRate(): constant stays, cosine falls from lr to 0", () => {
  const o = { lr: 1e-3, epochs: 2, stepsPerEpoch: 50 } as TrainOptions;
  assertEquals(learningRate({ ...o, lrSchedule: "constant" }, 70), 1e-3);
  const c = { ...o, lrSchedule: "cosine" as const };
  assertEquals(learningRate(c, 0), 1e-3);
  assertClose(learningRate(c, 50), 5e-4, 1e-12);
  assert(learningRate(c, 99) < 1e-6);
});

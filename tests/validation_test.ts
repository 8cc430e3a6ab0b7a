import { balancedPairs, fillBatch, splitIndices } from "../train/data/pairs.ts";
import { TILT, validationViews } from "../train/eval/validation.ts";
import { augmentBatch } from "../train/data/augment.ts";
import { createRng } from "../shared/rng.ts";
import { PIXELS } from "../shared/preprocess.ts";
import { assert, assertEquals } from "./assert.ts";

// 1,000 images: a bar whose row and brightness encode the image's index.
const N = 1000;
const labels = Uint8Array.from({ length: N }, (_, i) => (i * 7) % 10);
const pixels = new Uint8Array(N * PIXELS);
for (let i = 0; i < N; i++) {
  for (let x = 4; x < 24; x++) pixels[i * PIXELS + (4 + (i % 20)) * 28 + x] = 55 + (i % 200);
}
const { val } = splitIndices(N, 0.2, 3);
const valPairs = balancedPairs(val, labels, 300, createRng(4));
const [balanced, consecutive, tilted] = validationViews(pixels, labels, val, valPairs, 3);
const image = (px: Float32Array, k: number) => px.subarray(k * PIXELS, (k + 1) * PIXELS);

Deno.test("validationViews(): the balanced view is the validation pairs, on the validation images only, scaled as fillBatch scales them", () => {
  assertEquals(balanced.name, "balanced");
  assertEquals(balanced.pixels.length, val.length * PIXELS);
  assertEquals(balanced.pairs.same, valPairs.same);
  for (let k = 0; k < valPairs.a.length; k++) {
    const want = fillBatch(pixels, valPairs, k, 1); // [first image, second image], bit for bit
    assertEquals(image(balanced.pixels, balanced.pairs.a[k]), want.subarray(0, PIXELS));
    assertEquals(image(balanced.pixels, balanced.pairs.b[k]), want.subarray(PIXELS));
  }
});

Deno.test("validationViews(): the consecutive view pairs the validation images in order, same flags from labels", () => {
  assertEquals(consecutive.pairs.a.length, val.length / 2);
  let same = 0;
  for (let k = 0; k < consecutive.pairs.a.length; k++) {
    assertEquals([consecutive.pairs.a[k], consecutive.pairs.b[k]], [2 * k, 2 * k + 1]);
    assertEquals(consecutive.pairs.same[k], labels[val[2 * k]] === labels[val[2 * k + 1]] ? 1 : 0);
    same += consecutive.pairs.same[k];
  }
  assert(same > 0 && same < consecutive.pairs.a.length, `${same} same pairs`);
});

Deno.test("validationViews(): the tilted view is the balanced pairs on turned and slanted images", () => {
  assertEquals(tilted.pairs, balanced.pairs);
  const again = balanced.pixels.slice();
  augmentBatch(again, 28, TILT, createRng(3 ^ 0x711e));
  assertEquals(tilted.pixels, again);
  let moved = 0;
  for (let k = 0; k < val.length; k++) {
    if (image(tilted.pixels, k).some((v, p) => Math.abs(v - balanced.pixels[k * PIXELS + p]) > 0.1)) moved++;
  }
  assert(moved > 0.95 * val.length, `only ${moved} of ${val.length} images changed`);
});

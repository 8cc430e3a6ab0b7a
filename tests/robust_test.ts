import { loadRobustSet } from "../train/robust.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("the robustness set: 200 non-MNIST images, 20 per digit, all readable by the edge's preprocessing", () => {
  const set = loadRobustSet();
  assertEquals(set.labels.length, 200);
  for (let d = 0; d < 10; d++) assertEquals(set.labels.filter((l) => l === d).length, 20);
  for (let i = 0; i < 200; i++) {
    const img = set.images.subarray(i * 784, (i + 1) * 784);
    const ink = img.reduce((s, v) => s + v, 0);
    assert(ink > 5 && ink < 400, `image ${i} has ink ${ink}`);
  }
});

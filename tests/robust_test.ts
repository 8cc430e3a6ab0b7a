import { loadRobustSet } from "../train/robust.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("the robustness set: 440 non-MNIST images, 44 per digit, of seven kinds, all readable by the edge's preprocessing", () => {
  const set = loadRobustSet();
  assertEquals(set.labels.length, 440);
  for (let d = 0; d < 10; d++) assertEquals(set.labels.filter((l) => l === d).length, 44);
  assertEquals([...new Set(set.kinds)].sort(), [
    "marker",
    "mouse",
    "pencil",
    "stroke",
    "tilted",
    "typeset",
    "variant",
  ]);
  for (let i = 0; i < 440; i++) {
    const img = set.images.subarray(i * 784, (i + 1) * 784);
    const ink = img.reduce((s, v) => s + v, 0);
    assert(ink > 5 && ink < 400, `image ${i} has ink ${ink}`);
  }
});

import { loadRobustSet } from "../train/eval/robust.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("the robustness set: 490 non-MNIST images, 49 per digit, of eight kinds, all readable by the edge's preprocessing", async () => {
  // Phone photos rebuilt at 1008x756 (a sixteenth of their 12 MP) to keep the test fast.
  const set = await loadRobustSet(undefined, { width: 1008, height: 756 });
  assertEquals(set.labels.length, 490);
  for (let d = 0; d < 10; d++) assertEquals(set.labels.filter((l) => l === d).length, 49);
  assertEquals([...new Set(set.kinds)].sort(), [
    "marker",
    "mouse",
    "pencil",
    "phone",
    "stroke",
    "tilted",
    "typeset",
    "variant",
  ]);
  for (let i = 0; i < 490; i++) {
    const img = set.images.subarray(i * 784, (i + 1) * 784);
    const ink = img.reduce((s, v) => s + v, 0);
    assert(ink > 5 && ink < 400, `image ${i} has ink ${ink}`);
  }
});

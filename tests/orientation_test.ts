// EXIF orientation, all eight values: a digit stored turned or mirrored and
// tagged so that a viewer shows it upright must reach the model as the
// upright file does, on pairs the shipped model finds confident and on pairs
// it finds close (a 6 read upside down is a 9).
import sharp from "sharp";
import { decodeImage } from "../shared/decode.ts";
import { toMnist } from "../shared/preprocess.ts";
import { useBackend } from "../shared/backend.ts";
import { loadVerifier } from "../edge/verifier.ts";
import { WEIGHTS_DIR } from "../edge/server.ts";
import { digit, loadDataset } from "../train/data/mnist.ts";
import { meanAbsDiff, paperDigit } from "./fixtures.ts";
import { orient, stored } from "../shared/orient.ts";
import { assert, assertEquals } from "./assert.ts";

await useBackend("wasm");
const model = await loadVerifier(WEIGHTS_DIR);
const { test } = loadDataset();
const W = 200, H = 150;
const page = (i: number) =>
  paperDigit(digit(test.images.pixels, i), { w: W, h: H, scale: 4, left: 30, top: 15 });
const mnist = (i: number) => Float32Array.from(digit(test.images.pixels, i), (v) => v / 255);
const jpeg = (px: Uint8Array, w: number, h: number, o = 1) =>
  sharp(px, { raw: { width: w, height: h, channels: 1 } }).jpeg({ quality: 92 }).withMetadata({
    orientation: o,
  })
    .toBuffer();

/** The first MNIST test digit of `label` whose page scores against a partner in [lo, hi]. */
async function pairIn(label: number, lo: number, hi: number) {
  const labels = test.labels;
  for (let i = 0; i < 2000; i++) {
    if (labels[i] !== label) continue;
    const x = toMnist(await decodeImage(await jpeg(page(i), W, H), "u"), "u");
    for (let k = 0; k < 3000; k++) {
      const p = model.score(x, mnist(k)).probability;
      if (p >= lo && p <= hi) return { i, k, p };
    }
  }
  throw new Error(`no pair of a ${label} in [${lo}, ${hi}]`);
}

Deno.test("orient() undoes stored() for all eight orientations", () => {
  const px = Uint8Array.from({ length: 12 }, (_, i) => i);
  for (let o = 1; o <= 8; o++) {
    const shown = orient(stored({ data: px, width: 4, height: 3 }, o), o);
    assertEquals(
      [shown.width, shown.height, Array.from(shown.data)],
      [4, 3, Array.from(px)],
      `orientation ${o}`,
    );
  }
});

Deno.test("EXIF orientations 1-8 (JPEG; WebP for 6 and 3): the model input and score match the upright file", async () => {
  // A 6 (confident against another 6, and its upside-down copy would be a 9),
  // and a pair the model finds close.
  const cases = [await pairIn(6, 0.95, 1), await pairIn(6, 0, 0.05), await pairIn(2, 0.15, 0.85)];
  for (const { i, k, p } of cases) {
    const up = page(i), ref = toMnist(await decodeImage(await jpeg(up, W, H), "up"), "up");
    for (let o = 1; o <= 8; o++) {
      const s = stored({ data: up, width: W, height: H }, o);
      const files: [string, Uint8Array][] = [["jpeg", await jpeg(s.data, s.width, s.height, o)]];
      if (o === 6 || o === 3) {
        const webp = await sharp(s.data, { raw: { width: s.width, height: s.height, channels: 1 } }).webp({
          quality: 92,
        })
          .withMetadata({ orientation: o }).toBuffer();
        files.push(["webp", webp]);
      }
      for (const [kind, bytes] of files) {
        assertEquals((await sharp(bytes).metadata()).orientation ?? 1, o, `${kind} ${o} tag`);
        const x = toMnist(await decodeImage(bytes, "turned"), "turned");
        const d = meanAbsDiff(x, ref), q = model.score(x, mnist(k)).probability;
        assert(d <= 0.02, `digit ${i}, ${kind} orientation ${o}: mean |difference| ${d.toFixed(4)}`);
        assert(
          Math.abs(q - p) <= 0.05,
          `digit ${i} vs ${k}, ${kind} orientation ${o}: p ${q} vs upright ${p}`,
        );
      }
    }
  }
});

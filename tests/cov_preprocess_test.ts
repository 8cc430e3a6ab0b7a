// toMnist()'s corner cases: ink pushed past the 28x28 frame by centring,
// values outside 0..1 (Gray is a Float32Array anyone can fill), and faint ink
// beside a speck that is dropped.
import { centreByMass, SIDE, toMnist } from "../shared/preprocess.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

const sum = (x: Float32Array) => x.reduce((a, v) => a + v, 0);

/** Bounding box (width, height) of the non-zero pixels of a 28x28 input. */
function box(x: Float32Array) {
  let [x0, x1, y0, y1] = [SIDE, -1, SIDE, -1];
  x.forEach((v, i) => {
    if (v <= 0) return;
    const cx = i % SIDE, cy = Math.floor(i / SIDE);
    [x0, x1, y0, y1] = [Math.min(x0, cx), Math.max(x1, cx), Math.min(y0, cy), Math.max(y1, cy)];
  });
  return { w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

Deno.test("centreByMass() drops what centring pushes past each edge of the frame, never wraps it", () => {
  // 20 long, almost all mass at one end, a trace at the other: centring the
  // mass moves the trace 5 or more pixels past the frame's far edge.
  const bar = (first: number, last: number) => {
    const p = new Float32Array(20);
    [p[0], p[19]] = [first, last];
    return p;
  };
  // Centre of mass 0.69 from the heavy end: it lands at 13.31 -> row (or column) 13;
  // from the far end 19.31 -> 14. The trace lands at 32 or at -5.
  const cases: [Float32Array, number, number, number][] = [
    [bar(1, 0.01), 1, 20, 13 * SIDE + 14], // mass at the top: the trace falls off the bottom
    [bar(0.01, 1), 1, 20, 14 * SIDE + 14], // mass at the bottom: the trace falls off the top
    [bar(1, 0.01), 20, 1, 14 * SIDE + 13], // at the left: off the right
    [bar(0.01, 1), 20, 1, 14 * SIDE + 14], // at the right: off the left
  ];
  for (const [patch, tw, th, at] of cases) {
    const out = centreByMass(patch, tw, th);
    assertEquals(out[at], 1, `${tw}x${th}: the mass is not where centring puts it`);
    assertClose(sum(out), 1, 1e-6, `${tw}x${th}: the trace left the frame`);
  }
});

Deno.test("toMnist() reads values outside 0..1 as the nearest of them, on light and on dark paper", () => {
  // 64x64 (the per-block paper estimate runs from 64 px a side): a 10x40 bar.
  const page = (paper: number, ink: number) => ({
    width: 64,
    height: 64,
    data: Float32Array.from(
      { length: 64 * 64 },
      (_, i) => (i % 64 >= 27 && i % 64 < 37 && i >> 6 >= 12 && i >> 6 < 52 ? ink : paper),
    ),
  });
  for (const [paper, ink] of [[1.5, -0.5], [-0.5, 1.5], [1, 0]]) {
    const x = toMnist(page(paper, ink), "out of range");
    assert(x.every((v) => v >= 0 && v <= 1), `${paper}/${ink}: values outside 0..1`);
    assertEquals(box(x), { w: 5, h: 20 }, `paper ${paper}, ink ${ink}`);
  }
});

Deno.test("toMnist() reads faint ink once the one darker speck is dropped, thickening it to MNIST's pen", () => {
  // Paper 1; a faint 10x20 block (ink 0.45); one black pixel far away (ink 1,
  // the peak). Normalised by that peak the block is below 0.5 everywhere;
  // the speck holds ~1% of the ink and is dropped.
  const w = 40, h = 40, data = new Float32Array(w * h).fill(1);
  for (let y = 5; y < 25; y++) for (let x = 5; x < 15; x++) data[y * w + x] = 0.55;
  data[35 * w + 35] = 0;
  const x = toMnist({ width: w, height: h, data }, "faint");
  const { w: bw, h: bh } = box(x);
  assertEquals(bh, 20);
  assert(bw >= 9 && bw <= 12, `the block is ${bw} wide: ${bw}x${bh}`);
  // Brightness is relative to the peak found before the speck was dropped: the block stays at 0.45.
  assertClose(Math.max(...x), 0.45, 0.01, "brightest pixel");
});

import { toMnist } from "../shared/preprocess.ts";
import { ClientError } from "../shared/errors.ts";
import { assert, assertClose, assertEquals, assertThrows } from "./assert.ts";

const gray = (w: number, h: number, v: number[]) => ({ width: w, height: h, data: Float32Array.from(v) });

function stats(x: Float32Array) {
  let m = 0, mx = 0, my = 0, x0 = 28, x1 = -1, y0 = 28, y1 = -1;
  for (let y = 0; y < 28; y++) {
    for (let i = 0; i < 28; i++) {
      const v = x[y * 28 + i];
      m += v;
      mx += v * (i + 0.5);
      my += v * (y + 0.5);
      if (v > 0) [x0, x1, y0, y1] = [Math.min(x0, i), Math.max(x1, i), Math.min(y0, y), Math.max(y1, y)];
    }
  }
  return { cx: mx / m, cy: my / m, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

Deno.test("toMnist() inverts dark ink on light paper into a bright digit on black", () => {
  const img = gray(5, 5, [1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const x = toMnist(img, "ring");
  assertEquals(x.length, 784);
  assertEquals(Math.max(...x), 1);
  assertEquals(x[0], 0);
});

Deno.test("toMnist() scales the ink's bounding box to fit 20x20, keeping aspect ratio", () => {
  // A 10 wide x 40 tall bar on a 100x100 white page -> 5 x 20 in the output.
  const page = Array.from({ length: 100 * 100 }, (_, i) => {
    const x = i % 100, y = Math.floor(i / 100);
    return x >= 30 && x < 40 && y >= 10 && y < 50 ? 0 : 1;
  });
  const s = stats(toMnist(gray(100, 100, page), "bar"));
  assertEquals([s.w, s.h], [5, 20]);
});

Deno.test("toMnist() centres the digit by centre of mass", () => {
  const page = Array.from({ length: 60 * 40 }, (_, i) => ((i % 60) < 8 && Math.floor(i / 60) < 8 ? 0 : 1));
  const s = stats(toMnist(gray(60, 40, page), "corner"));
  assertClose(s.cx, 14, 0.5, "centre x");
  assertClose(s.cy, 14, 0.5, "centre y");
});

/** A 160x160 light page: a vertical bar of ink `ink` below the paper, `f(x, y)` the paper's light. */
function page(paper: (x: number, y: number) => number, ink: number, bar: (x: number, y: number) => boolean) {
  return gray(
    160,
    160,
    Array.from({ length: 160 * 160 }, (_, i) => {
      const x = i % 160, y = Math.floor(i / 160);
      return paper(x, y) - (bar(x, y) ? ink : 0);
    }),
  );
}

Deno.test("toMnist() measures ink against the paper around it: a light gradient is not ink", () => {
  // Paper from 0.95 (left) to 0.6 (right), faint ink 0.3 below it: one global
  // paper level would take the dark right side for ink and box the page.
  const img = page((x) => 0.95 - 0.35 * (x / 159), 0.3, (x, y) => x >= 40 && x < 52 && y >= 30 && y < 130);
  const s = stats(toMnist(img, "shade"));
  assertEquals(s.h, 20);
  assert(s.w <= 4, `bar is ${s.w} px wide: the shaded paper was read as ink`);
});

Deno.test("toMnist() drops specks of noise far from the digit", () => {
  const img = page(
    () => 0.9,
    0.5,
    (x, y) => (x >= 70 && x < 82 && y >= 40 && y < 120) || (x === 5 && y === 5),
  );
  const s = stats(toMnist(img, "speck"));
  assertEquals(s.h, 20);
  assert(s.w <= 4, `bar is ${s.w} px wide: the speck stretched the box`);
});

Deno.test("toMnist() thickens strokes far thinner than MNIST's pen, not ones as thick", () => {
  const ring = (w: number) => (x: number, y: number) => Math.abs(Math.hypot(x - 80, y - 80) - 50) < w / 2;
  const inkOf = (x: Float32Array) => x.reduce((a, v) => a + v, 0);
  const thin = toMnist(page(() => 1, 1, ring(2)), "thin"),
    thick = toMnist(page(() => 1, 1, ring(12)), "thick");
  // 20 px box: MNIST's pen is ~2.4 px, so a 2/100 ring becomes about as inky as a 12/100 one.
  assert(inkOf(thin) > 0.6 * inkOf(thick), `thin ${inkOf(thin)} vs thick ${inkOf(thick)}`);
  assertEquals(stats(thin).w, stats(thick).w);
  const unchanged = toMnist(page(() => 1, 1, ring(16)), "marker");
  assert(inkOf(unchanged) > inkOf(thick), "a thick stroke must stay thicker");
});

Deno.test("toMnist() reads a large photo at working resolution: same digit as a small copy", () => {
  const bar = (w: number, h: number, k: number) =>
    gray(
      w,
      h,
      Array.from({ length: w * h }, (_, i) => {
        const x = i % w, y = Math.floor(i / w);
        return x >= 60 * k && x < 70 * k && y >= 20 * k && y < 80 * k ? 0.1 : 0.9;
      }),
    );
  const big = stats(toMnist(bar(1600, 1200, 8), "big")), small = stats(toMnist(bar(200, 150, 1), "small"));
  assertEquals([big.w, big.h], [small.w, small.h]);
  assertClose(big.cx, small.cx, 0.5, "centre x");
});

Deno.test("toMnist() answers any shape and content with a digit in 0..1 or blank_image", () => {
  const sizes = [1, 2, 3, 28, 31, 32, 33, 64, 321, 641, 4000];
  const fills: ((x: number, y: number, w: number, h: number) => number)[] = [
    () => 0.5,
    (x, y) => ((x * 7 + y * 13) % 10) / 10,
    (x, y, w, h) => (x === w >> 1 && y === h >> 1 ? 0 : 1),
    (x) => (x % 7 < 2 ? 0 : 1),
    () => NaN,
  ];
  for (const w of sizes) {
    for (const h of sizes) {
      if (w * h > 1_500_000) continue;
      for (const f of fills) {
        const img = gray(w, h, Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w), w, h)));
        try {
          const x = toMnist(img, "odd");
          assert(x.length === 784 && x.every((v) => v >= 0 && v <= 1), `${w}x${h}: values out of range`);
        } catch (e) {
          assert(e instanceof ClientError && e.code === "blank_image", `${w}x${h}: ${e}`);
        }
      }
    }
  }
});

Deno.test("toMnist() passes a 28x28 dark-background image through unchanged", () => {
  const v = Array.from({ length: 784 }, (_, i) => (i % 97 === 0 ? 0.8 : 0));
  assertEquals(toMnist(gray(28, 28, v), "m"), Float32Array.from(v));
});

Deno.test("toMnist() refuses a blank or uniform image with code blank_image", () => {
  for (const v of [0, 1, 0.5]) {
    assertThrows(
      () => toMnist(gray(40, 40, new Array(1600).fill(v)), "empty"),
      (e: Error) => e instanceof ClientError && e.code === "blank_image" && /"empty"/.test(e.message),
    );
  }
});

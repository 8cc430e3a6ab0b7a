// The training report renders from a tiny synthetic run: every figure exists
// as a valid PNG and SVG of sensible size, and the HTML references them all.
import { useBackend } from "../shared/backend.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { writeReport } from "../train/report/main.ts";
import { emaCorrected } from "../train/report/data.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

await useBackend("wasm");

Deno.test("emaCorrected() is unbiased from the first step", () => {
  emaCorrected([2, 2, 2]).forEach((v) => assertClose(v, 2, 1e-12)); // a constant stays constant
  assertClose(emaCorrected([1, 0], 0.5)[1], 1 / 3, 1e-12);
});

Deno.test("writeReport() writes every figure as PNG and SVG, and an HTML page that references them", async () => {
  const { test } = loadDataset();
  const n = 400, dir = await Deno.makeTempDir();
  const rng = createRng(3);
  const epochs = [1, 2].map((epoch) => ({
    epoch,
    trainLoss: 0.5 / epoch,
    valLoss: 0.6 / epoch,
    precision: 0.8,
    recall: 0.7 + 0.1 * epoch,
    accuracy: 0.8 + 0.05 * epoch,
    auc: 0.9 + 0.03 * epoch,
    seconds: 1,
    pairsPerSecond: 100,
  }));
  try {
    const files = await writeReport(dir, {
      params: initParams(SEED_MODEL, rng),
      config: SEED_MODEL,
      threshold: 0.5,
      test: { pixels: test.images.pixels.subarray(0, n * 784), labels: test.labels.subarray(0, n) },
      history: {
        stepLosses: Array.from({ length: 60 }, (_, i) => 0.7 * Math.exp(-i / 30) + 0.05 * rng.next()),
        epochs,
      },
      embedCount: 120,
      balancedCount: 400,
    }, {
      metrics: {},
      validation: {
        balanced: { pairs: 10000, accuracy: 0.9957, auc: 0.99983 },
        tilted: { pairs: 10000, accuracy: 0.9935, auc: 0.99973 },
      },
    });
    const html = await Deno.readTextFile(`${dir}/index.html`);
    const pngs = files.filter((f) => f.endsWith(".png"));
    assertEquals(pngs.length, 8);
    for (const f of pngs) {
      const b = await Deno.readFile(`${dir}/${f}`);
      const v = new DataView(b.buffer);
      assertEquals([...b.subarray(1, 4)], [0x50, 0x4e, 0x47], `${f} is not a PNG`);
      const [w, h] = [v.getUint32(16), v.getUint32(20)];
      assert(w >= 300 && h >= 200 && w <= 4000 && h <= 4000, `${f} is ${w}x${h}`);
      assert(html.includes(`href="${f}"`), `index.html does not reference ${f}`);
      const svg = await Deno.readTextFile(`${dir}/${f.replace(".png", ".svg")}`);
      assert(svg.startsWith("<svg") && svg.length > 2000, `${f}: bad SVG`);
    }
    assertEquals(html.match(/<svg/g)?.length, 8);
    assert(html.includes("Validation views"), "index.html has no validation table");
    assert(
      html.includes("tilted 99.35% (AUC 0.99973, 10000 pairs)"),
      "the validation table lacks the tilted view",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The edge entry on the oldest Deno that Deno Deploy documents (2.5.0, "Currently Deno Deploy runs on
// Deno 2.5.0", docs.deno.com deploy/reference/runtime, read 2026-12-02), fetched from npm as CI fetches
// its own Deno, run as Deploy runs it: --allow-all, no other flag, DENO_DEPLOYMENT_ID set (one isolate).
// Its /verify answers on real MNIST pairs, JSON and PNG, must equal this runtime's in-process scores.
import { assertClose, assertEquals } from "./assert.ts";
import { denoFromNpm, DEPLOY_DENO, spawnAsDeploy } from "../edge/spawn.ts";
import { loadVerifier } from "../edge/verifier.ts";
import { WEIGHTS_DIR } from "../edge/server.ts";
import { digit, digitPng, loadDataset } from "../train/data/mnist.ts";
import { FORM_TYPE, pngForm } from "../bench/loadgen.ts";
import { toMnist } from "../shared/preprocess.ts";

Deno.test(`edge/main.ts on Deno ${DEPLOY_DENO} as Deno Deploy runs it answers /verify as this runtime does`, async () => {
  const { child, base } = await spawnAsDeploy(await denoFromNpm(DEPLOY_DENO), { REQUEST_LOG: "off" });
  try {
    const { test } = loadDataset();
    const v = await loadVerifier(WEIGHTS_DIR);
    for (const [i, j] of [[0, 1], [3, 10], [2, 5]]) {
      const [a, b] = [digit(test.images.pixels, i), digit(test.images.pixels, j)];
      const want = v.score(
        toMnist({ width: 28, height: 28, data: Float32Array.from(a, (x) => x / 255) }, "a"),
        toMnist({ width: 28, height: 28, data: Float32Array.from(b, (x) => x / 255) }, "b"),
      ).probability;
      const json = await fetch(`${base}/verify`, {
        method: "POST",
        body: JSON.stringify({ a: Array.from(a), b: Array.from(b) }),
        headers: { "content-type": "application/json" },
      });
      const png = await fetch(`${base}/verify`, {
        method: "POST",
        body: new Uint8Array(pngForm({ a: digitPng(a), b: digitPng(b) })),
        headers: { "content-type": FORM_TYPE },
      });
      for (const r of [json, png]) {
        assertEquals(r.status, 200);
        const body = await r.json();
        assertClose(body.probability, want, 1e-6, `pair ${i}, ${j}`);
        assertEquals(
          body.same,
          test.labels[i] === test.labels[j] ? body.probability > body.threshold : body.same,
        );
      }
    }
    const ready = await (await fetch(`${base}/readyz`)).json();
    assertEquals(ready.memory.isolate, "isolate-0");
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});

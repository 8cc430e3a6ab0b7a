// The shipped weights through the whole request path (the project's kernels)
// give what stock TF.js gives for the same model, on real MNIST test images;
// and serving holds no tensors and a kernel memory of fixed size.
import * as tf from "@tensorflow/tfjs";
import { createApp } from "../edge/app.ts";
import { loadVerifier } from "../edge/verifier.ts";
import { buildApp, WEIGHTS_DIR } from "../edge/server.ts";
import { useBackend } from "../shared/backend.ts";
import { foldBatchNorm, sigmoid } from "../shared/model.ts";
import { createTfModel, pairLogits } from "../shared/model_tf.ts";
import { readArtifactDir } from "../train/artifact_io.ts";
import { digitPng, loadDataset } from "../train/data/mnist.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

await useBackend("wasm");
const { test } = loadDataset();
const digit = (i: number) => test.images.pixels.subarray(i * 784, (i + 1) * 784);
const verifier = await loadVerifier(WEIGHTS_DIR);
const app = createApp({ verifier });
const art = await readArtifactDir(WEIGHTS_DIR.pathname);
const model = createTfModel(foldBatchNorm(art.params, art.config), art.config);

function direct(i: number, j: number): number {
  const batch = new Float32Array(2 * 784);
  batch.set(Array.from(digit(i), (v) => v / 255), 0);
  batch.set(Array.from(digit(j), (v) => v / 255), 784);
  return sigmoid(pairLogits(model, batch)[0]);
}

Deno.test("/verify on real MNIST test pairs equals stock TF.js on the same weights (JSON and PNG)", async () => {
  for (const [i, j] of [[0, 1], [2, 3], [10, 11], [3, 5]]) {
    const want = direct(i, j);
    const r = await app.request("/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: Array.from(digit(i)), b: Array.from(digit(j)) }),
    });
    const body = await r.json();
    assertClose(body.probability, want, 1e-5, `JSON pair ${i},${j}`);
    assertEquals(body.same, want > art.threshold);
    const f = new FormData();
    for (const [name, k] of [["a", i], ["b", j]] as const) {
      const png = digitPng(digit(k));
      f.append(name, new Blob([png as Uint8Array<ArrayBuffer>]), `${name}.png`);
    }
    const p = await (await app.request("/verify", { method: "POST", body: f })).json();
    assertClose(p.probability, want, 1e-5, `PNG pair ${i},${j}`);
  }
});

Deno.test("serving creates no tensors and keeps its kernel memory at the size fixed at load", async () => {
  const send = (body: unknown) =>
    app.request("/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  await (await send({ a: Array.from(digit(0)), b: Array.from(digit(1)) })).arrayBuffer();
  const before = tf.memory().numTensors, bytes = verifier.memoryBytes;
  for (let k = 0; k < 50; k++) {
    const r = await send(
      k % 2 ? { a: Array.from(digit(k)), b: Array.from(digit(k + 1)) } : { a: [1, 2], b: "x" },
    );
    await r.arrayBuffer();
  }
  const e = await app.request("/embed", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image: Array.from(digit(4)) }),
  });
  assertEquals(e.status, 200);
  await e.arrayBuffer();
  assertEquals(tf.memory().numTensors, before);
  assertEquals(verifier.memoryBytes, bytes);
  assertEquals(bytes, (await loadVerifier(WEIGHTS_DIR)).memoryBytes);
  assert(verifier.sha256 === art.sha256);
});

Deno.test("concurrent first requests while the model loads: 503 not_ready, one load, then answers", async () => {
  // The load waits on a gate, so the first requests surely arrive while it is pending.
  let loads = 0;
  const gate = Promise.withResolvers<void>();
  const { app: fresh, verifier: ready } = buildApp(WEIGHTS_DIR, async (dir) => {
    loads++;
    await gate.promise;
    return loadVerifier(dir);
  });
  const body = JSON.stringify({ a: Array.from(digit(0)), b: Array.from(digit(1)) });
  const send = () =>
    fresh.request("/verify", { method: "POST", body, headers: { "content-type": "application/json" } });
  const early = await Promise.all(Array.from({ length: 20 }, send));
  for (const r of early) assertEquals([r.status, (await r.json()).error.code], [503, "not_ready"]);
  gate.resolve();
  await ready;
  const late = await Promise.all(Array.from({ length: 20 }, send));
  for (const r of late) assertClose((await r.json()).probability, direct(0, 1), 1e-5, "after load");
  assertEquals(loads, 1);
});

// Run by tests/memory_test.ts with --v8-flags=--expose-gc: 10,000 mixed good
// and bad requests through the app; prints live heap after a full GC at 1,000
// and at 10,000 requests, and the live tensor count, as JSON.
import * as tf from "@tensorflow/tfjs";
import { createApp } from "../edge/app.ts";
import { useBackend } from "../shared/backend.ts";
import { drawn, png, randomVerifier } from "./fixtures.ts";

await useBackend("wasm");
const app = createApp({ verifier: await randomVerifier() });
const one = png(30, 30, drawn(30, 30, (x, y) => Math.abs(x - 15) < 2 && y > 3 && y < 27));
const good = JSON.stringify({
  a: Array.from({ length: 784 }, (_, i) => (i % 9 ? 0 : 250)),
  b: new Array(784).fill(0).map((_, i) => (i % 4 ? 0 : 200)),
});
const send = (k: number) => {
  if (k % 4 === 1) {
    const f = new FormData();
    f.append("a", new Blob([one as Uint8Array<ArrayBuffer>]), "a.png");
    f.append("b", new Blob([one as Uint8Array<ArrayBuffer>]), "b.png");
    return app.request("/verify", { method: "POST", body: f });
  }
  const body = k % 4 === 0 ? good : k % 4 === 2 ? '{"a": [1, 2]}' : "{broken";
  return app.request("/verify", { method: "POST", body, headers: { "content-type": "application/json" } });
};
// Blobs and request bodies are freed by finalizers, which run after a GC in
// a later task: collect a few times with a pause before reading the heap.
const heap = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as unknown as { gc(): void }).gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return Deno.memoryUsage().heapUsed;
};
let early = 0;
for (let k = 0; k < 10_000; k++) {
  await (await send(k)).arrayBuffer();
  if (k === 999) early = await heap();
}
console.log(JSON.stringify({ early, late: await heap(), tensors: tf.memory().numTensors }));

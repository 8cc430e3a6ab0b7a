import * as tf from "@tensorflow/tfjs";
import {
  decodeWeights,
  encodeWeights,
  entryBytes,
  quantizeAffine,
  toFloat16Bits,
  type WeightEntry,
} from "../shared/weights.ts";
import { ArtifactError, buildArtifact, loadArtifact, weightsFile } from "../shared/artifact.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { randomArtifact } from "./fixtures.ts";

const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.3 - 0.05);

Deno.test("uint8 quantization decodes with stock tf.io.decodeWeights within half a step", () => {
  const { entries, data } = encodeWeights({ "x/kernel": { shape: [1000], values } }, ["x/kernel"], "uint8");
  assertEquals(data.length, 1000);
  const q = entries[0].quantization as { scale: number; min: number };
  const t = tf.io.decodeWeights(data.slice().buffer, entries as tf.io.WeightsManifestEntry[])["x/kernel"];
  const back = t.dataSync();
  t.dispose();
  for (let i = 0; i < values.length; i++) assertClose(back[i], values[i], q.scale / 2 + 1e-7, `w[${i}]`);
});

Deno.test("decodeWeights() gives exactly stock tf.io.decodeWeights' values for every encoding", () => {
  const odd = Float32Array.of(0, 1, -2.5, 65504, 1e-5, 0.1, -0.333, 6e-8, -0);
  for (const quantize of ["uint8", "float16", "none"] as const) {
    for (const v of [values, odd]) {
      const { entries, data } = encodeWeights(
        { "x/kernel": { shape: [v.length], values: v }, "x/bias": { shape: [v.length], values: v } },
        ["x/kernel", "x/bias"],
        quantize,
      );
      const ours = decodeWeights(data, entries);
      const stock = tf.io.decodeWeights(data.slice().buffer, entries as tf.io.WeightsManifestEntry[]);
      for (const name of ["x/kernel", "x/bias"]) {
        assertEquals([...ours[name].values], [...stock[name].dataSync()], `${quantize} ${name}`);
        stock[name].dispose();
      }
    }
  }
  const u16 = new Uint8Array(Uint16Array.of(0, 1, 65535).buffer);
  const entry = {
    name: "y",
    shape: [3],
    dtype: "float32" as const,
    quantization: { dtype: "uint16" as const, scale: 0.01, min: -1 },
  };
  const stock = tf.io.decodeWeights(u16.slice().buffer, [entry])["y"];
  assertEquals([...decodeWeights(u16, [entry])["y"].values], [...stock.dataSync()]);
  stock.dispose();
});

Deno.test("quantizeAffine() nudges the minimum so 0.0 is exactly representable", () => {
  const { q, scale, min } = quantizeAffine(Float32Array.of(-0.37, 0, 0.81, 0.2), 8);
  assertEquals(q[1] * scale + min, 0);
  assert(min <= -0.37 + scale && min + 255 * scale >= 0.81 - scale);
});

Deno.test("float16 encoding round-trips through stock decodeWeights to half precision", () => {
  const v = Float32Array.of(0, 1, -2.5, 65504, 1e-5, 0.1, -0.333);
  assertEquals([...toFloat16Bits(Float32Array.of(1, -2, 0))], [0x3c00, 0xc000, 0]);
  const { entries, data } = encodeWeights({ "k/kernel": { shape: [7], values: v } }, ["k/kernel"], "float16");
  const back = decodeWeights(data, entries)["k/kernel"].values;
  v.forEach((x, i) => assertClose(back[i], x, Math.abs(x) * 1e-3 + 1e-7, `h[${i}]`));
});

Deno.test("biases and batch-norm vectors stay float32; uint8 artifact is <= 30% of float32", async () => {
  const params = initParams(SEED_MODEL, createRng(1));
  const { modelJson, bin } = await buildArtifact(params, SEED_MODEL, 0.5, "uint8", "test");
  const w = modelJson.weightsManifest[0].weights;
  assert(w.filter((e) => !e.name.endsWith("/kernel")).every((e) => !e.quantization));
  const floatBytes = Object.values(params).reduce((s, p) => s + 4 * p.values.length, 0);
  assert(bin.length <= 0.3 * floatBytes, `${bin.length} > 30% of ${floatBytes}`);
  const loaded = await loadArtifact(JSON.stringify(modelJson), bin);
  assertEquals(loaded.params["bn3/gamma"].values, params["bn3/gamma"].values);
});

Deno.test("loadArtifact() refuses a flipped byte, a truncated file, a bad manifest and a wrong shape", async () => {
  const { modelJson, bin } = await randomArtifact(SEED_MODEL, 2, 0.6);
  const text = JSON.stringify(modelJson);
  const flipped = bin.slice();
  flipped[1234] ^= 1;
  await assertRejects(
    () => loadArtifact(text, flipped),
    (e: Error) => e instanceof ArtifactError && /SHA-256/.test(e.message),
  );
  await assertRejects(() => loadArtifact(text, bin.subarray(0, 1000)), /1000 bytes/);
  await assertRejects(() => loadArtifact("{nope", bin), /Cannot read model.json/);
  // conv2's kernel with its last two dimensions swapped: the same number of
  // elements, so byte count and SHA-256 still match, and only the shape check
  // can refuse it.
  const swapped = JSON.parse(text);
  const conv2 = swapped.weightsManifest[0].weights.find((w: WeightEntry) => w.name === "conv2/kernel");
  assertEquals(conv2.shape, [3, 3, 8, 16]);
  conv2.shape = [3, 3, 16, 8];
  const bytes = (m: typeof modelJson) => m.weightsManifest[0].weights.reduce((a, e) => a + entryBytes(e), 0);
  assertEquals(bytes(swapped), bin.length);
  await assertRejects(
    () => loadArtifact(JSON.stringify(swapped), bin),
    (e: Error) =>
      e instanceof ArtifactError && e.message.includes('"conv2/kernel" missing or not of shape [3,3,8,16]'),
  );
});

Deno.test("weightsFile() refuses a manifest that points outside its directory", () => {
  const manifest = (p: unknown) => JSON.stringify({ weightsManifest: [{ paths: [p], weights: [] }] });
  assertEquals(weightsFile(manifest("weights.bin")), "weights.bin");
  for (const bad of ["../etc/passwd", "/abs.bin", ".hidden", "a/b.bin", 7]) {
    assertThrows(() => weightsFile(manifest(bad)), ArtifactError, "Refusing weights path");
  }
  assertThrows(() => weightsFile("{nope"), /Cannot read model.json/);
});

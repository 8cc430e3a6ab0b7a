import { progressLine } from "../train/summary.ts";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import { registerWasmGradKernels } from "../train/kernels/register.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { initParams, type ParamMap, trainableCount } from "../shared/params.ts";
import { createTfModel, movingStatistics, pairLogits } from "../shared/model_tf.ts";
import { KernelModel } from "../shared/kernels/infer.ts";
import { createRng } from "../shared/rng.ts";
import {
  applyUpdate,
  batchNormReluPool,
  batchNormTrain,
  computeGrads,
  createTrainer,
  disposeTrainer,
  forwardTrain,
  readParams,
  trainStep,
} from "../train/step.ts";
import { train } from "../train/loop.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { stepsInFlight, workerRunner } from "../train/parallel/replicas.ts";
import { balancedPairs, fillBatch } from "../train/data/pairs.ts";
import { scorePairs } from "../train/eval/evaluate.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";

await useBackend("wasm");
registerWasmGradKernels();
const mnist = loadDataset();
const small = (n: number) => ({
  images: { ...mnist.train.images, count: n, pixels: mnist.train.images.pixels.subarray(0, n * 784) },
  labels: mnist.train.labels.subarray(0, n),
});

Deno.test("the seed model has 395,297 trainable parameters", () => {
  assertEquals(trainableCount(SEED_MODEL), 395_297);
});

// [6,5,5,3]: channels not a multiple of 4 (scalar path on wasm); [7,9,9,8]
// and [130,20]: the SIMD path, over more rows than one float32 partial sum.
// Each with and without the folded bias and ReLU.
for (const backend of ["wasm", "cpu"]) {
  const path = backend === "wasm" ? "fused wasm kernels" : "tf ops";
  for (const shape of [[6, 5, 5, 3], [7, 9, 9, 8], [130, 20]]) {
    for (const fold of [false, true]) {
      const what = `${path} on [${shape}]${fold ? " with bias and ReLU" : ""}`;
      Deno.test(`batchNormTrain() (${what}): output, statistics and gradients match the plain formula`, () => {
        tf.setBackend(backend);
        try {
          const c = shape[shape.length - 1], axes = shape.slice(0, -1).map((_, i) => i);
          const x = tf.randomNormal(shape, 3, 2, "float32", 1),
            g = tf.randomNormal([c], 1, 0.3, "float32", 2);
          const b = tf.randomNormal([c], 0, 1, "float32", 3), dy = tf.randomNormal(shape, 0, 1, "float32", 4);
          const bias = tf.randomNormal([c], 0, 1, "float32", 5);
          const plainY = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => {
            const xb = fold ? tf.add(x, bias) : x;
            const { mean, variance } = tf.moments(xb, axes);
            const z = tf.add(tf.mul(tf.div(tf.sub(xb, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
            return fold ? tf.relu(z) : z;
          };
          const layer = (g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => ({
            gamma: g,
            beta: b,
            eps: 1e-5,
            ...(fold ? { bias, relu: true } : {}),
          });
          const close = (got: tf.Tensor, ref: tf.Tensor, what: string) => {
            const rv = ref.dataSync(), gv = got.dataSync();
            assertEquals(gv.length, rv.length, `${what}: size`);
            rv.forEach((v, j) => assertClose(gv[j], v, 1e-4 * (1 + Math.abs(v)), `${what}[${j}]`));
          };
          const stats: tf.Tensor[] = [];
          const y = batchNormTrain(x, layer(g, b, bias), stats);
          const { mean, variance } = tf.moments(fold ? tf.add(x, bias) : x, axes);
          close(y, plainY(x, g, b, bias), "y");
          close(stats[0], mean, "mean");
          close(stats[1], variance, "variance");
          type Layer = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
          const loss = (f: Layer) => (...t: tf.Tensor[]) =>
            tf.sum(tf.mul(f(t[0], t[1], t[2], t[3] ?? bias), dy));
          const inputs = fold ? [x, g, b, bias] : [x, g, b];
          const ref = tf.grads(loss(plainY))(inputs);
          const got = tf.grads(loss((x, g, b, bias) => batchNormTrain(x, layer(g, b, bias), stats)))(inputs);
          ref.forEach((r, i) => close(got[i], r, `grad ${i}`));
          tf.dispose([x, g, b, dy, bias, y, mean, variance, ...ref, ...got, ...stats]);
        } finally {
          tf.setBackend("wasm");
        }
      });
    }
  }
}

// The fused batch norm + ReLU + 2x2 max pool against the plain composition:
// [3,6,6,8] and [2,4,4,4] take the fused kernels on wasm, [2,5,5,8] (odd
// size) falls back. ReLU's zeros put ties in many windows.
for (const backend of ["wasm", "cpu"]) {
  for (const shape of [[3, 6, 6, 8], [2, 4, 4, 4], [2, 5, 5, 8]]) {
    Deno.test(`batchNormReluPool() on ${backend} [${shape}]: output, statistics and gradients match the plain composition`, () => {
      tf.setBackend(backend);
      try {
        const c = shape[3];
        const x = tf.randomNormal(shape as [number, number, number, number], 3, 2, "float32", 11);
        const g = tf.randomNormal([c], 1, 0.3, "float32", 12), b = tf.randomNormal([c], 0, 1, "float32", 13);
        const bias = tf.randomNormal([c], 0, 1, "float32", 14);
        const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => {
          const xb = tf.add(x, bias);
          const { mean, variance } = tf.moments(xb, [0, 1, 2]);
          const z = tf.add(tf.mul(tf.div(tf.sub(xb, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
          return tf.maxPool(tf.relu(z) as tf.Tensor4D, 2, 2, "valid");
        };
        const fused = (stats: tf.Tensor[]) => (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
          batchNormReluPool(x as tf.Tensor4D, { gamma: g, beta: b, eps: 1e-5, bias }, stats);
        const close = (got: tf.Tensor, ref: tf.Tensor, what: string) => {
          const rv = ref.dataSync(), gv = got.dataSync();
          assertEquals(gv.length, rv.length, `${what}: size`);
          rv.forEach((v, j) => assertClose(gv[j], v, 1e-4 * (1 + Math.abs(v)), `${what}[${j}]`));
        };
        const stats: tf.Tensor[] = [];
        const y = fused(stats)(x, g, b, bias), { mean, variance } = tf.moments(tf.add(x, bias), [0, 1, 2]);
        close(y, plain(x, g, b, bias), "y");
        close(stats[0], mean, "mean");
        close(stats[1], variance, "variance");
        const dy = tf.randomNormal(y.shape, 0, 1, "float32", 15);
        type F = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
        const loss = (f: F) => (...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0], t[1], t[2], t[3]), dy));
        const inputs = [x, g, b, bias];
        const ref = tf.grads(loss(plain))(inputs), got = tf.grads(loss(fused(stats)))(inputs);
        ref.forEach((r, i) => close(got[i], r, `grad ${i}`));
        tf.dispose([x, g, b, bias, y, dy, mean, variance, ...ref, ...got, ...stats]);
      } finally {
        tf.setBackend("wasm");
      }
    });
  }
}

Deno.test("createTrainer() then disposeTrainer() leaves no tensors behind", () => {
  const before = tf.memory().numTensors;
  disposeTrainer(createTrainer(initParams(SEED_MODEL, createRng(1)), SEED_MODEL, 3e-4));
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("trainStep() leaks no tensors and updates running statistics", () => {
  const t = createTrainer(initParams(SEED_MODEL, createRng(1)), SEED_MODEL, 3e-4);
  const batch = new Float32Array(2 * 8 * 784).map((_, i) => (i % 13) / 13),
    same = new Float32Array(8).fill(1);
  trainStep(t, batch, same);
  const before = tf.memory().numTensors;
  trainStep(t, batch, same);
  assertEquals(tf.memory().numTensors, before);
  assert(t.vars["bn1/moving_mean"].dataSync().some((v) => v !== 0));
  disposeTrainer(t);
});

Deno.test("a short seeded run on real MNIST lowers the loss and is reproducible", async () => {
  const opts = {
    model: SEED_MODEL,
    epochs: 1,
    stepsPerEpoch: 40,
    batchSize: 20,
    lr: 1e-3,
    seed: 5,
    valFraction: 0.2,
    valPairs: 100,
    workers: 0,
    lrSchedule: "constant" as const,
    augment: null,
    digitLoss: 0,
  };
  const a = await train(opts, small(2000)), b = await train(opts, small(2000));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const first = mean(a.stepLosses.slice(0, 8)), last = mean(a.stepLosses.slice(-8));
  assert(Number.isFinite(last) && last < 0.8 * first, `loss did not fall: ${first} -> ${last}`);
  assertEquals(a.stepLosses, b.stepLosses);
  assert(a.epochs[0].auc > 0.8, `val AUC ${a.epochs[0].auc}`);
});

Deno.test("folded inference (kernels) and forward() with running statistics equal batch norm written out", () => {
  const p: ParamMap = initParams(SEED_MODEL, createRng(3));
  const rng = createRng(4);
  for (const bn of ["bn1", "bn2", "bn3"]) {
    for (const k of ["gamma", "beta", "moving_mean", "moving_variance"]) {
      p[`${bn}/${k}`].values = p[`${bn}/${k}`].values.map(() =>
        k === "moving_variance" ? 0.5 + rng.next() : rng.normal() * 0.3
      );
    }
  }
  const x = new Float32Array(4 * 784).map(() => rng.next());
  const got = new KernelModel(p, SEED_MODEL).pairLogits(x);
  const unfolded = createTfModel(p, SEED_MODEL);
  const viaForward = pairLogits(unfolded, x, { norm: movingStatistics(unfolded.w, SEED_MODEL.bnEpsilon) });
  unfolded.dispose();
  const ref = tf.tidy(() => {
    const t = (n: string) => tf.tensor(p[n].values, p[n].shape);
    const bn = (h: tf.Tensor, n: string) =>
      tf.batchNorm(
        h,
        t(`${n}/moving_mean`),
        t(`${n}/moving_variance`),
        t(`${n}/beta`),
        t(`${n}/gamma`),
        1e-5,
      );
    const block = (h: tf.Tensor4D, c: string, n: string) =>
      tf.maxPool(
        tf.relu(
          bn(tf.add(tf.conv2d(h, t(`${c}/kernel`) as tf.Tensor4D, 1, "same"), t(`${c}/bias`)), n),
        ) as tf.Tensor4D,
        2,
        2,
        "valid",
      );
    const h = block(block(tf.tensor4d(x, [4, 28, 28, 1]), "conv1", "bn1"), "conv2", "bn2");
    const e = tf.relu(
      bn(tf.add(tf.matMul(tf.reshape(h, [4, -1]), t("fc/kernel") as tf.Tensor2D), t("fc/bias")), "bn3"),
    );
    const [e1, e2] = tf.split(e, 2, 0);
    return tf.add(tf.matMul(tf.abs(tf.sub(e1, e2)), t("head/kernel") as tf.Tensor2D), t("head/bias"))
      .dataSync();
  });
  got.forEach((v, i) => assertClose(v, ref[i], 1e-4 * (1 + Math.abs(ref[i])), `logit ${i}`));
  viaForward.forEach((v, i) => assertClose(v, ref[i], 1e-4 * (1 + Math.abs(ref[i])), `forward() logit ${i}`));
});

Deno.test("stepsInFlight issues a step before awaiting the previous one, reports losses in order, and rethrows a failure after the step behind it settles", async () => {
  const events: string[] = [];
  const resolvers: ((v: number) => void)[] = [];
  const start = (s: number) => {
    events.push(`start ${s}`);
    return new Promise<number>((resolve) => resolvers[s] = resolve);
  };
  const run = stepsInFlight(3, start, (s, loss) => events.push(`done ${s} ${loss}`));
  await Promise.resolve();
  assertEquals(events, ["start 1", "start 2"]); // two in flight before any loss
  for (const s of [1, 2, 3]) {
    resolvers[s](s / 10);
    await new Promise((r) => setTimeout(r, 0));
  }
  await run;
  assertEquals(events, ["start 1", "start 2", "done 1 0.1", "start 3", "done 2 0.2", "done 3 0.3"]);

  let settled = false;
  const failing = stepsInFlight(
    3,
    (s) =>
      s === 1
        ? Promise.reject(new Error("step 1 failed"))
        : new Promise<number>((resolve) =>
          setTimeout(() => {
            settled = true;
            resolve(0);
          }, 20)
        ),
  );
  await assertRejects(() => failing, /step 1 failed/);
  assert(settled, "the step issued behind the failed one settled before the failure was thrown");
});

Deno.test("worker steps two in flight from one reused batch buffer (as the loop runs them) equal steps awaited one by one", async () => {
  const pool = Int32Array.from({ length: 2000 }, (_, i) => i);
  const pairs = balancedPairs(pool, mnist.train.labels, 80, createRng(10));
  const batches = [0, 1, 2, 3].map((s) => ({
    batch: fillBatch(mnist.train.images.pixels, pairs, s * 20, 20),
    same: Float32Array.from(pairs.same.subarray(s * 20, s * 20 + 20)),
  }));
  const run = async (pipelined: boolean) => {
    const init = initParams(SEED_MODEL, createRng(11));
    const runner = await workerRunner(2, init, SEED_MODEL, 1e-3, "wasm", mnist.train.images.pixels);
    try {
      const steps = [...batches, ...batches];
      if (pipelined) {
        // As the loop does: one batch buffer, refilled as soon as a step is issued.
        const batch = new Float32Array(batches[0].batch.length), same = new Float32Array(20);
        await stepsInFlight(steps.length, (s) => {
          batch.set(steps[s - 1].batch);
          same.set(steps[s - 1].same);
          const pending = runner.step(batch, same, 1e-3);
          batch.fill(0);
          same.fill(0);
          return pending;
        });
      } else for (const b of steps) await runner.step(b.batch, b.same, 1e-3);
      return await runner.readParams();
    } finally {
      runner.close();
    }
  };
  const [one, all] = [await run(false), await run(true)];
  for (const name of Object.keys(one)) assertEquals(all[name].values, one[name].values, name);
});

Deno.test("two worker replicas apply the weighted mean of their halves' gradients and statistics, bit for bit as formed here", async () => {
  const pool = Int32Array.from({ length: 2000 }, (_, i) => i);
  const pairs = balancedPairs(pool, mnist.train.labels, 20, createRng(14));
  const init = initParams(SEED_MODEL, createRng(15));
  const runner = await workerRunner(2, init, SEED_MODEL, 1e-3, "wasm", mnist.train.images.pixels);
  let got;
  try {
    await runner.step(
      fillBatch(mnist.train.images.pixels, pairs, 0, 20),
      Float32Array.from(pairs.same),
      1e-3,
    );
    got = await runner.readParams();
  } finally {
    runner.close();
  }
  // Each replica's half: pairs 0-9 and 10-19, weight 1/2 each; the mean as the exchange forms it.
  const t = createTrainer(init, SEED_MODEL, 1e-3);
  try {
    const [r0, r1] = [0, 10].map((at) =>
      computeGrads(
        t,
        fillBatch(mnist.train.images.pixels, pairs, at, 10),
        Float32Array.from(pairs.same.subarray(at, at + 10)),
      )
    );
    const mean = (a: Float32Array, b: Float32Array) => {
      const m = a.map((x) => 0.5 * x);
      for (let i = 0; i < m.length; i++) m[i] += 0.5 * b[i];
      return m;
    };
    applyUpdate(t, mean(r0.grads, r1.grads), mean(r0.stats, r1.stats), 20, 1e-3);
    const want = readParams(t);
    for (const name of Object.keys(want)) assertEquals(got[name].values, want[name].values, name);
  } finally {
    disposeTrainer(t);
  }
});

Deno.test("worker replicas on cpu (the mean formed in arrays) train as replicas on wasm (the mean formed in the heap)", async () => {
  const pool = Int32Array.from({ length: 2000 }, (_, i) => i);
  const pairs = balancedPairs(pool, mnist.train.labels, 60, createRng(12));
  const run = async (backend: "wasm" | "cpu") => {
    const runner = await workerRunner(
      2,
      initParams(SEED_MODEL, createRng(13)),
      SEED_MODEL,
      1e-3,
      backend,
      mnist.train.images.pixels,
    );
    try {
      for (let s = 0; s < 3; s++) {
        const batch = fillBatch(mnist.train.images.pixels, pairs, s * 20, 20);
        await runner.step(batch, Float32Array.from(pairs.same.subarray(s * 20, s * 20 + 20)), 1e-3);
      }
      return await runner.readParams();
    } finally {
      runner.close();
    }
  };
  const [wasm, cpu] = [await run("wasm"), await run("cpu")];
  const init = initParams(SEED_MODEL, createRng(13));
  // Adam's first steps are about +-lr for every weight whatever its gradient's size, so a weight whose gradient
  // is rounding noise (a bias that batch norm follows, a dead unit) can step either way: compare the updates
  // as a whole, ||update on cpu - update on wasm|| against ||update on wasm||.
  for (const name of Object.keys(wasm)) {
    if (/^(conv1|conv2|fc)\/bias$/.test(name)) continue; // all noise, as above
    const w = wasm[name].values, c = cpu[name].values, i0 = init[name].values;
    let d2 = 0, u2 = 0;
    for (let i = 0; i < w.length; i++) {
      d2 += (w[i] - c[i]) ** 2;
      u2 += (w[i] - i0[i]) ** 2;
    }
    const rel = Math.sqrt(d2 / u2);
    assert(u2 > 0 && rel <= 0.1, `${name}: cpu and wasm replicas' updates differ by ${rel} of their size`);
  }
});

Deno.test("worker replicas stay identical: their split scoring equals scoring replica 0's weights here", async () => {
  const runner = await workerRunner(
    2,
    initParams(SEED_MODEL, createRng(8)),
    SEED_MODEL,
    1e-3,
    "wasm",
    mnist.train.images.pixels,
  );
  try {
    const pool = Int32Array.from({ length: 2000 }, (_, i) => i);
    const pairs = balancedPairs(pool, mnist.train.labels, 60, createRng(9));
    const losses: number[] = [];
    for (let s = 0; s < 6; s++) {
      const batch = fillBatch(mnist.train.images.pixels, pairs, (s % 3) * 20, 20);
      losses.push(
        await runner.step(
          batch,
          Float32Array.from(pairs.same.subarray((s % 3) * 20, (s % 3) * 20 + 20)),
          1e-3,
        ),
      );
    }
    assert(losses.every(Number.isFinite));
    const split = await runner.score(pairs);
    const here = scorePairs(await runner.readParams(), SEED_MODEL, mnist.train.images.pixels, pairs);
    split.forEach((v, i) => assertClose(v, here[i], 1e-4 * (1 + Math.abs(v)), `logit ${i}`));
  } finally {
    runner.close();
  }
});

Deno.test("with classes, the embedding is digit probabilities, the head is tied and the digit loss adds weight x their cross-entropy", () => {
  const config = { ...SEED_MODEL, classes: 10 };
  const p = initParams(config, createRng(11));
  const pool = Int32Array.from({ length: 500 }, (_, i) => i);
  const pairs = balancedPairs(pool, mnist.train.labels, 8, createRng(12));
  const batch = fillBatch(mnist.train.images.pixels, pairs, 0, 8), same = Float32Array.from(pairs.same);
  const digits = Int32Array.from([...pairs.a, ...pairs.b], (i) => mnist.train.labels[i]);
  // Variables are named, so one trainer at a time.
  const plain = createTrainer(p, config, 1e-3, 0);
  const r0 = computeGrads(plain, batch, same);
  disposeTrainer(plain);
  const t = createTrainer(p, config, 1e-3, 0.5);
  try {
    const before = tf.memory().numTensors;
    const r1 = computeGrads(t, batch, same, digits);
    assertEquals(tf.memory().numTensors, before);
    const logits = tf.tidy(() =>
      forwardTrain(t, tf.tensor4d(batch, [16, 28, 28, 1]), []).classLogits!.arraySync()
    );
    const ce = logits.reduce((s, z, i) => {
      const m = Math.max(...z), lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      return s + lse - z[digits[i]];
    }, 0) / logits.length;
    assertClose(r1.loss, r0.loss + 0.5 * ce, 1e-4);
    assertThrows(() => computeGrads(t, batch, same), Error, "needs 16 digit labels");
    // The head's weights are tied: after updates they are still all equal, and not 0.
    for (let s = 0; s < 3; s++) trainStep(t, batch, same, 1e-2, digits);
    const k = t.vars["head/kernel"].dataSync();
    assert(k[0] !== 0 && k.every((v) => v === k[0]), `head weights ${k}`);
  } finally {
    disposeTrainer(t);
  }
  // Inference: the folded model's embeddings are probabilities (10 per image, sum 1).
  const flat = new KernelModel(p, config).embed(batch.subarray(0, 2 * 784));
  assertEquals(flat.length, 20);
  for (const row of [flat.subarray(0, 10), flat.subarray(10)]) {
    assertClose(row.reduce((a, v) => a + v, 0), 1, 1e-5);
  }
  assertThrows(
    () => createTrainer(initParams(SEED_MODEL, createRng(1)), SEED_MODEL, 1e-3, 1),
    Error,
    "A digit loss needs config.classes",
  );
});

Deno.test("progressLine: the run's step and epoch, the smoothed loss, pairs/s and the run's ETA as m:ss", () => {
  const p = { epoch: 3, step: 20, loss: 0.5, pairsPerSecond: 1834.4, etaSeconds: 151.6 };
  assertEquals(
    progressLine(p, 12, 480, 0.12345),
    "step 980/5760 (epoch 3/12)  loss 0.1235  1834 pairs/s  ETA 2:32",
  );
});

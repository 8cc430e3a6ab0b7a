// Inference on the project's kernels (shared/kernels/infer.ts): the committed
// simd.wasm is its source assembled, the forward pass with running
// statistics equals the folded kernels on real MNIST images, and the kernels
// match TF.js's pure-JS `cpu` backend.
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import { assemble, WASM, WASM_MODULE, wasmModule, WAT } from "../shared/kernels/build.ts";
import { KernelModel } from "../shared/kernels/infer.ts";
import { foldBatchNorm, sigmoid } from "../shared/model.ts";
import { createTfModel, embed, movingStatistics, pairLogits } from "../shared/model_tf.ts";
import { initParams } from "../shared/params.ts";
import { createRng } from "../shared/rng.ts";
import type { ModelConfig } from "../shared/config.ts";
import type { ParamMap } from "../shared/params.ts";
import { WEIGHTS_DIR } from "../edge/server.ts";
import { readArtifactDir } from "../train/artifact_io.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

await useBackend("wasm");
const art = await readArtifactDir(WEIGHTS_DIR.pathname);
const { test } = loadDataset();
/** The first 2n test images as n pairs (image 2i against 2i + 1 is the test protocol's pair i). */
function mnistPairs(n: number): Float32Array {
  const out = new Float32Array(2 * n * 784);
  for (let i = 0; i < n; i++) {
    for (const side of [0, 1]) {
      const from = test.images.pixels.subarray((2 * i + side) * 784, (2 * i + side + 1) * 784);
      out.set(Array.from(from, (v) => v / 255), (side * n + i) * 784);
    }
  }
  return out;
}

Deno.test("simd.wasm and simd_wasm.ts are simd.wat assembled (run `deno task build:kernels` after editing it)", async () => {
  const built = await assemble(await Deno.readTextFile(WAT));
  assertEquals([...await Deno.readFile(WASM)], [...built]);
  assertEquals(await Deno.readTextFile(WASM_MODULE), wasmModule(built));
});

Deno.test("forward() with running statistics equals the folded kernels within 1e-5 on 500 real MNIST pairs", () => {
  const x = mnistPairs(500);
  const unfolded = createTfModel(art.params, art.config);
  const eval_ = pairLogits(unfolded, x, { norm: movingStatistics(unfolded.w, art.config.bnEpsilon) });
  unfolded.dispose();
  const kernels = new KernelModel(art.params, art.config).pairLogits(x);
  let worst = 0;
  for (let i = 0; i < 500; i++) worst = Math.max(worst, Math.abs(sigmoid(eval_[i]) - sigmoid(kernels[i])));
  assert(worst <= 1e-5, `largest probability difference ${worst}`);
});

/** Batch-norm parameters and statistics drawn at random, so that folding them is not the identity. */
function withRandomStatistics(p: ParamMap, rng: ReturnType<typeof createRng>): ParamMap {
  const out = { ...p };
  for (const bn of ["bn1", "bn2", "bn3"]) {
    for (const k of ["gamma", "beta", "moving_mean", "moving_variance"]) {
      const t = p[`${bn}/${k}`];
      out[`${bn}/${k}`] = {
        shape: t.shape,
        values: t.values.map(() => k === "moving_variance" ? 0.5 + rng.next() : rng.normal() * 0.3),
      };
    }
  }
  return out;
}

/** The cpu backend's logits, folded weights. */
function onCpu(params: ReturnType<typeof foldBatchNorm>, config: ModelConfig, x: Float32Array): Float32Array {
  tf.setBackend("cpu");
  try {
    const m = createTfModel(params, config);
    const out = pairLogits(m, x);
    m.dispose();
    return out;
  } finally {
    tf.setBackend("wasm");
  }
}

Deno.test("kernel logits match the cpu backend within 1e-4 (relative) for the shipped model and odd configs", () => {
  const configs: ModelConfig[] = [
    art.config,
    // channel counts that are not multiples of 4 or 8, no class layer, another input size
    { inputSize: 12, conv1: 3, conv2: 5, embedding: 7, bnEpsilon: 1e-5, bnMomentum: 0.1 },
    { inputSize: 28, conv1: 8, conv2: 16, embedding: 500, bnEpsilon: 1e-5, bnMomentum: 0.1, classes: 3 },
  ];
  const rng = createRng(5);
  configs.forEach((config, c) => {
    const params = c === 0
      ? art.params
      : withRandomStatistics(initParams(config, createRng(c)), createRng(c));
    // 37 pairs: more than one chunk of maxPairs = 16 below, and a ragged last one
    const pairs = 37,
      x = c === 0
        ? mnistPairs(pairs)
        : new Float32Array(2 * pairs * config.inputSize ** 2).map(() => rng.next());
    const want = onCpu(foldBatchNorm(params, config), config, x);
    const got = new KernelModel(params, config, 16).pairLogits(x);
    for (let i = 0; i < pairs; i++) {
      assertClose(got[i], want[i], 1e-4 * (1 + Math.abs(want[i])), `config ${c} pair ${i}`);
    }
    // one pair alone (the dense layers' two-row kernel)
    const px = config.inputSize ** 2, one = new Float32Array(2 * px);
    one.set(x.subarray(0, px));
    one.set(x.subarray(pairs * px, (pairs + 1) * px), px);
    const alone = new KernelModel(params, config).pairLogits(one)[0];
    assertClose(alone, want[0], 1e-4 * (1 + Math.abs(want[0])), `config ${c}, one pair`);
  });
});

Deno.test("embed() of the kernels equals the tower on the cpu backend, image by image", () => {
  const params = foldBatchNorm(art.params, art.config), x = mnistPairs(3);
  const got = new KernelModel(art.params, art.config, 1).embed(x); // 6 images: three chunks
  tf.setBackend("cpu");
  try {
    const m = createTfModel(params, art.config);
    const t = embed(m, tf.tensor4d(x, [6, 28, 28, 1]));
    const want = t.dataSync() as Float32Array;
    tf.dispose(t);
    m.dispose();
    assertEquals(got.length, want.length);
    want.forEach((v, i) => assertClose(got[i], v, 1e-5, `embedding value ${i}`));
  } finally {
    tf.setBackend("wasm");
  }
});

Deno.test("the kernel memory is sized once: it cannot grow", () => {
  const m = new KernelModel(art.params, art.config);
  let grew = true;
  try {
    m.memory.grow(1);
  } catch {
    grew = false;
  }
  assert(!grew, "memory grew");
});

// Gradient checks: every custom wasm kernel against the cpu backend's
// reference on random inputs, for the shapes, strides and paddings it claims.
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "../shared/backend.ts";
import { registerWasmGradKernels } from "../train/kernels/register.ts";
import { applyAdam } from "../train/step.ts";
import { assert, assertEquals } from "./assert.ts";

await useBackend("wasm");
registerWasmGradKernels();

type Pad = "same" | "valid" | number;
function onBoth(f: () => tf.Tensor): [Float32Array, Float32Array] {
  const run = (b: string) => {
    tf.setBackend(b);
    const t = f();
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  };
  try {
    return [run("cpu"), run("wasm")];
  } finally {
    tf.setBackend("wasm");
  }
}
function assertRel(ref: Float32Array, got: Float32Array, what: string) {
  let err = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(ref[i] - got[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  assert(ref.length === got.length && err / scale <= 1e-4, `${what}: relative error ${err / scale}`);
}
function data(shape: number[], seed: number): tf.Tensor {
  tf.setBackend("cpu");
  const t = tf.randomNormal(shape, 0, 1, "float32", seed);
  const v = t.dataSync().slice();
  t.dispose();
  return tf.tensor(v, shape);
}

const cases: [number, number, number, number, number, number, Pad][] = [
  // batch, size, in ch, out ch, kernel, stride, pad
  [4, 9, 3, 5, 3, 1, "same"],
  [2, 8, 2, 3, 3, 2, "same"],
  [3, 7, 2, 4, 3, 1, "valid"],
  [2, 10, 1, 8, 3, 2, "valid"],
  [2, 6, 3, 2, 3, 1, 1],
  [2, 9, 2, 3, 5, 1, "same"],
  [2, 8, 4, 2, 2, 1, "same"],
  [3, 28, 1, 8, 3, 1, "same"],
  [3, 14, 8, 16, 3, 1, "same"], // Winograd forward and input gradient, one group of images
  [7, 14, 16, 32, 3, 1, "same"], // Winograd in groups of 3 images, the last one partial
  [2, 5, 6, 20, 3, 1, "same"],
  [2, 11, 3, 24, 5, 2, 2], // direct filter gradient: 75 taps (a partial tile), 3 channel panels
];
for (const [n, s, ci, co, k, stride, pad] of cases) {
  Deno.test(`Conv2D and its gradients on wasm match cpu: x[${n},${s},${s},${ci}] k${k} co${co} stride ${stride} pad ${pad}`, () => {
    const x = data([n, s, s, ci], 1) as tf.Tensor4D, f = data([k, k, ci, co], 2) as tf.Tensor4D;
    tf.setBackend("cpu");
    const dy = data(tf.conv2d(x, f, stride, pad).shape, 3);
    const loss = (xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, stride, pad), dy));
    const [yr, yw] = onBoth(() => tf.conv2d(x, f, stride, pad));
    assertRel(yr, yw, "output");
    const [fr, fw] = onBoth(() => tf.tidy(() => tf.grad((ff: tf.Tensor) => loss(x, ff))(f)));
    assertRel(fr, fw, "filter gradient");
    const [xr, xw] = onBoth(() => tf.tidy(() => tf.grad((xx: tf.Tensor) => loss(xx, f))(x)));
    assertRel(xr, xw, "input gradient");
  });
}

Deno.test("MaxPoolGrad on wasm matches cpu for 2x2/2 (even, odd), 3x3/1 same, 3x3/2 valid, 2x2/2 same, with ties", () => {
  const shapes = [[2, 2, "valid", 8], [2, 2, "valid", 9], [3, 1, "same", 9], [3, 2, "valid", 9], [
    2,
    2,
    "same",
    9,
  ]] as const;
  // Rounded inputs put ties in most windows (as ReLU's zeros do).
  for (const channels of [5, 8]) {
    for (const ties of [false, true]) {
      for (const [size, stride, pad, side] of shapes) {
        const x = tf.tidy(() => {
          const d = data([3, side, side, channels], 4);
          return ties ? tf.relu(tf.round(d)) : d;
        }) as tf.Tensor4D;
        const dy = (() => {
          tf.setBackend("cpu");
          return data(tf.maxPool(x, size, stride, pad).shape, 5);
        })();
        const [r, w] = onBoth(() =>
          tf.tidy(() =>
            tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xx as tf.Tensor4D, size, stride, pad), dy)))(
              x,
            )
          )
        );
        assertRel(r, w, `maxPool ${size}/${stride} ${pad} side ${side}, ${channels} channels, ties ${ties}`);
        tf.dispose([x, dy]);
      }
    }
  }
});

Deno.test("SplitV on wasm (copies within the heap) equals cpu's: first, middle and last axis, uneven sizes, and its gradient", () => {
  const x = data([4, 6, 5], 40);
  for (
    const [sizes, axis] of [[2, 0], [[1, 3], 0], [[2, 1, 3], 1], [[4, 1], -1]] as [
      number | number[],
      number,
    ][]
  ) {
    const n = Array.isArray(sizes) ? sizes.length : sizes;
    for (let k = 0; k < n; k++) {
      const [r, w] = onBoth(() => tf.tidy(() => tf.split(x, sizes, axis)[k]));
      assertEquals(w, r, `split ${JSON.stringify(sizes)} axis ${axis}, part ${k}`);
    }
    // The gradient of each part weighted differently: Concat of the parts' gradients, in order.
    const [gr, gw] = onBoth(() =>
      tf.tidy(() =>
        tf.grad((xx: tf.Tensor) =>
          tf.addN(tf.split(xx, sizes, axis).map((p, i) => tf.mul(tf.sum(p), i + 1)))
        )(x)
      )
    );
    assertEquals(gw, gr, `gradient of split ${JSON.stringify(sizes)} axis ${axis}`);
  }
  tf.setBackend("wasm");
  const ints = tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"); // other dtypes: the backend's own kernel
  assertEquals([...tf.split(ints, 2, 1)[1].dataSync()], [2, 4]);
  ints.dispose();
});

Deno.test("BatchMatMul on wasm (SIMD GEMM) matches cpu: every transposition, edge tiles, broadcast batch", () => {
  // [batch A, batch B, m, k, n] (batch 0: a plain matrix): full 4x8 tiles,
  // ragged edges on both axes, k = 1, a long k, vectors, broadcast batches.
  const shapes = [
    [0, 0, 8, 16, 16],
    [0, 0, 13, 1, 9],
    [0, 0, 5, 300, 11],
    [0, 0, 33, 20, 1],
    [2, 2, 7, 5, 4],
    [3, 1, 4, 6, 3],
    [1, 2, 1, 9, 17],
    [0, 2, 6, 3, 10],
  ];
  let seed = 20;
  for (const [ba, bb, m, k, n] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const batch = (x: number) => (x ? [x] : []);
        const a = data([...batch(ba), ...(ta ? [k, m] : [m, k])], seed++);
        const b = data([...batch(bb), ...(tb ? [n, k] : [k, n])], seed++);
        const shapes: number[][] = [];
        const [r, w] = onBoth(() => {
          const c = tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
          shapes.push(c.shape);
          return c;
        });
        const what = `matMul [${a.shape}] x [${b.shape}] ta=${ta} tb=${tb}`;
        assertEquals(shapes[1], shapes[0], `${what}: shape`);
        assertRel(r, w, what);
        tf.dispose([a, b]);
      }
    }
  }
});

Deno.test("Conv2DBackpropFilter on wasm refuses NCHW with a clear error", () => {
  tf.setBackend("wasm");
  const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D, dy = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
  let msg = "";
  try {
    tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: 1,
      pad: "same",
      dataFormat: "NCHW",
      filterShape: [3, 3, 1, 1],
    });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/dataFormat "NCHW" is not supported/.test(msg), `no clear error: "${msg}"`);
  tf.dispose([x, dy]);
});

Deno.test("applyAdam (fused wasm kernel) follows tfjs's AdamOptimizer: values and moments over 3 steps", () => {
  tf.setBackend("wasm");
  const shapes = [[7], [3, 5], [8], [1]];
  const make = (tag: string) => shapes.map((s, i) => tf.variable(data(s, 40 + i), true, `adam_${tag}_${i}`));
  const ours = make("fused"), ref = make("tfjs");
  const o1 = tf.train.adam(1e-3, 0.9, 0.999, 1e-8), o2 = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  for (let step = 0; step < 3; step++) {
    const grads = shapes.map((s, i) => data(s, 50 + 10 * step + i));
    applyAdam(o1, ours.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    o2.applyGradients(ref.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    tf.dispose(grads);
  }
  const weights = async (o: tf.Optimizer) => (await o.getWeights()).slice(1).map((w) => w.tensor.dataSync());
  return Promise.all([weights(o1), weights(o2)]).then(([w1, w2]) => {
    ours.forEach((v, i) =>
      assertRel(ref[i].dataSync() as Float32Array, v.dataSync() as Float32Array, `value ${i}`)
    );
    w1.forEach((w, i) => assertRel(w2[i] as Float32Array, w as Float32Array, `moment ${i}`));
    assertEquals(o1.iterations, o2.iterations, "iterations");
    tf.dispose([...ours, ...ref]);
    o1.dispose();
    o2.dispose();
  });
});

// A data-parallel training replica, run as a Deno Web Worker (one per core;
// the wasm backend is single-threaded under Deno). Each replica holds the
// same weights and Adam state, computes gradients on its share of the batch,
// and applies the mean of every replica's gradients, formed identically in
// each from shared memory (exchange.ts), so replicas never drift.
import { useBackend } from "../../shared/backend.ts";
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import { registerWasmGradKernels } from "../kernels/register.ts";
import { Exchange, type ExchangeLayout } from "./exchange.ts";
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heap } from "../../shared/kernels/simd.ts";
import {
  applyUpdate,
  createTrainer,
  flatten,
  type GradTensors,
  gradTensors,
  type OptimizerState,
  readOptimizerState,
  readParams,
  trainableVars,
  type Trainer,
  writeOptimizerState,
} from "../step.ts";
import { scorePairs } from "../eval/evaluate.ts";
import type { Pairs } from "../data/pairs.ts";

export type Request =
  | {
    type: "init";
    params: ParamMap;
    config: ModelConfig;
    lr: number;
    digitLoss: number;
    backend: "wasm" | "cpu";
    pixels: Uint8Array;
    optimizer?: OptimizerState;
  }
  | { type: "state" }
  | { type: "score"; pairs: Pairs }
  | { type: "exchange"; buffer: SharedArrayBuffer; layout: ExchangeLayout; rank: number }
  | {
    type: "step";
    batch: Float32Array;
    same: Float32Array;
    digits?: Int32Array;
    /** This share's weight in the batch mean. */
    weight: number;
    /** Images per replica, for the unbiased running variance. */
    images: number;
    lr?: number;
  }
  | { type: "read" };

let trainer: Trainer | undefined;
let exchange: Exchange | undefined;
let pixels: Uint8Array | undefined;
const self = globalThis as unknown as {
  onmessage: (e: MessageEvent<Request>) => void;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};

/** A float32 tensor's data on the wasm heap (a view, valid until the next allocation). */
const heapData = (t: tf.Tensor) => heap(tf.backend() as BackendWasm, t);
const copy = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** A float32 tensor on the wasm heap whose data is yet to be written. */
function uninitialised(shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo((tf.backend() as BackendWasm).makeOutput(shape, "float32"));
}

self.onmessage = async (e) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      const backend = await useBackend(m.backend);
      if (backend === "wasm") registerWasmGradKernels();
      trainer = createTrainer(m.params, m.config, m.lr, m.digitLoss);
      if (m.optimizer) await writeOptimizerState(trainer, m.optimizer);
      pixels = m.pixels;
      self.postMessage({ ok: true });
    } else if (m.type === "exchange") {
      exchange = new Exchange(m.buffer, m.layout, m.rank);
      self.postMessage({ ok: true });
    } else if (m.type === "step") {
      let mine: GradTensors | Error, mean: tf.Tensor[] = [];
      try {
        mine = gradTensors(trainer!, m.batch, m.same, m.digits);
      } catch (err) {
        mine = err as Error;
      }
      try {
        // On wasm the mean goes straight into fresh tensors' heap data, and the
        // gradients are read from theirs: views taken after the last allocation
        // (a growing heap detaches them). Elsewhere, into one array that
        // applyUpdate splits.
        const wasm = tf.getBackend() === "wasm";
        if (wasm) mean = trainableVars(trainer!).map((v) => uninitialised(v.shape));
        const into = wasm ? mean.map(heapData) : [new Float32Array(exchange!.gradients)];
        const { stats, loss } = exchange!.exchange(
          mine instanceof Error
            ? mine
            : { stats: flatten(mine.stats), grads: mine.grads.map(wasm ? heapData : copy), loss: mine.loss },
          m.weight,
          into,
        );
        applyUpdate(trainer!, wasm ? mean : into[0], stats, m.images, m.lr);
        self.postMessage({ ok: true, loss });
      } finally {
        tf.dispose(mean);
        if (!(mine instanceof Error)) tf.dispose([...mine.grads, ...mine.stats]);
      }
    } else if (m.type === "score") {
      const logits = scorePairs(readParams(trainer!), trainer!.config, pixels!, m.pairs);
      self.postMessage({ ok: true, logits }, [logits.buffer as ArrayBuffer]);
    } else if (m.type === "state") {
      const state = { params: readParams(trainer!), optimizer: await readOptimizerState(trainer!) };
      self.postMessage({ ok: true, state });
    } else if (m.type === "read") {
      self.postMessage({ ok: true, params: readParams(trainer!) });
    }
  } catch (err) {
    self.postMessage({ ok: false, error: (err as Error).stack ?? String(err) });
  }
};

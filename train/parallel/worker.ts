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
import {
  applyUpdate,
  computeGrads,
  createTrainer,
  type OptimizerState,
  readOptimizerState,
  readParams,
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
      let mine;
      try {
        mine = computeGrads(trainer!, m.batch, m.same, m.digits);
      } catch (err) {
        mine = err as Error;
      }
      const mean = exchange!.exchange(mine, m.weight);
      applyUpdate(trainer!, mean.grads, mean.stats, m.images, m.lr);
      self.postMessage({ ok: true, loss: mean.loss });
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

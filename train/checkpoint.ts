// Training checkpoints: everything needed to continue a run as if it had not
// stopped: weights (with BN running stats), Adam's exact state, the PRNG
// state, the epoch reached and the history so far. One JSON + one .bin,
// written as a directory atomically (train/artifact_io.ts).
import type { ParamMap } from "../shared/params.ts";
import { paramSpecs } from "../shared/params.ts";
import type { OptimizerState } from "./step.ts";
import type { EpochStats, TrainOptions } from "./loop.ts";

export interface Checkpoint {
  /** Epochs completed. */
  epoch: number;
  rng: [number, number, number, number];
  options: TrainOptions;
  epochs: EpochStats[];
  stepLosses: number[];
  /** Seconds of training before this checkpoint. */
  seconds: number;
  params: ParamMap;
  optimizer: OptimizerState;
}

type Header = Omit<Checkpoint, "params" | "optimizer"> & {
  format: "siamese-checkpoint-1";
  optimizer: Omit<OptimizerState, "moments"> & { momentSizes: number[] };
};

/** Checkpoint -> checkpoint.json text and checkpoint.bin bytes (float32, paramSpecs order, then moments). */
export function encodeCheckpoint(c: Checkpoint): { json: string; bin: Uint8Array } {
  const arrays = [...paramSpecs(c.options.model).map((s) => c.params[s.name].values), ...c.optimizer.moments];
  const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of arrays) {
    out.set(x, o);
    o += x.length;
  }
  const { params: _p, optimizer: { moments, ...opt }, ...rest } = c;
  const header: Header = {
    format: "siamese-checkpoint-1",
    ...rest,
    optimizer: { ...opt, momentSizes: moments.map((m) => m.length) },
  };
  return { json: JSON.stringify(header), bin: new Uint8Array(out.buffer) };
}

/** Inverse of encodeCheckpoint; throws on a file that does not fit its header. */
export function decodeCheckpoint(json: string, bin: Uint8Array): Checkpoint {
  const h = JSON.parse(json) as Header;
  if (h.format !== "siamese-checkpoint-1") throw new Error("Cannot resume: not a siamese-checkpoint-1 file");
  const specs = paramSpecs(h.options.model);
  const sizes = [...specs.map((s) => s.shape.reduce((a, b) => a * b, 1)), ...h.optimizer.momentSizes];
  const want = sizes.reduce((a, b) => a + b, 0) * 4;
  if (bin.length !== want) {
    throw new Error(`Cannot resume: checkpoint.bin has ${bin.length} bytes, expected ${want}`);
  }
  const all = new Float32Array(bin.slice().buffer);
  let o = 0;
  const take = (n: number) => all.slice(o, o += n);
  const params: ParamMap = {};
  for (const s of specs) {
    params[s.name] = {
      shape: s.shape,
      values: take(s.shape.reduce((a, b) => a * b, 1)),
    };
  }
  const { momentSizes, ...opt } = h.optimizer;
  const { format: _f, optimizer: _o, ...rest } = h;
  return { ...rest, params, optimizer: { ...opt, moments: momentSizes.map(take) } };
}

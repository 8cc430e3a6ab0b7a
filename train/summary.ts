// Text tables printed by the training CLI: the model summary and per-epoch rows.
import type { ModelConfig } from "../shared/config.ts";
import { paramSpecs, trainableCount } from "../shared/params.ts";
import type { EpochStats } from "./loop.ts";

const OUTPUTS = (c: ModelConfig) => {
  const s = c.inputSize;
  return {
    conv1: `${s}x${s}x${c.conv1}`,
    bn1: `${s}x${s}x${c.conv1} -> relu, maxpool ${s / 2}x${s / 2}x${c.conv1}`,
    conv2: `${s / 2}x${s / 2}x${c.conv2}`,
    bn2: `${s / 2}x${s / 2}x${c.conv2} -> relu, maxpool ${s / 4}x${s / 4}x${c.conv2}, flatten ${
      (s / 4) ** 2 * c.conv2
    }`,
    fc: `${c.embedding}`,
    bn3: `${c.embedding} -> relu${c.classes ? "" : " = embedding"}`,
    cls: `${c.classes} -> softmax = embedding (digit probabilities)`,
    head: `1 (logit of |e1 - e2|)`,
  } as Record<string, string>;
};

/** Layers, output shapes, parameter counts and float32 size. */
export function modelSummary(c: ModelConfig): string {
  const rows: [string, string, number, number][] = [];
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    let row = rows.find((r) => r[0] === s.layer);
    if (!row) rows.push(row = [s.layer, OUTPUTS(c)[s.layer], 0, 0]);
    if (s.trainable) row[2] += n;
    else row[3] += n;
  }
  const total = trainableCount(c);
  const lines = rows.map(([l, o, t, nt]) =>
    `${l.padEnd(6)} ${o.padEnd(58)} ${String(t).padStart(8)}${nt ? ` (+${nt} running stats)` : ""}`
  );
  return [
    `${"layer".padEnd(6)} ${"output".padEnd(58)} ${"params".padStart(8)}`,
    ...lines,
    `trainable parameters: ${total.toLocaleString("en")} (${(total * 4 / 1e6).toFixed(2)} MB as float32)`,
  ].join("\n");
}

export const EPOCH_HEADER =
  "epoch  train_loss  val_loss  precision%  recall%  accuracy%  val_AUC   pairs/s  seconds";

export function epochRow(e: EpochStats): string {
  return [
    String(e.epoch).padStart(5),
    e.trainLoss.toFixed(4).padStart(10),
    e.valLoss.toFixed(4).padStart(8),
    (100 * e.precision).toFixed(2).padStart(10),
    (100 * e.recall).toFixed(2).padStart(7),
    (100 * e.accuracy).toFixed(2).padStart(9),
    e.auc.toFixed(5).padStart(8),
    e.pairsPerSecond.toFixed(0).padStart(8),
    e.seconds.toFixed(1).padStart(7),
  ].join("  ");
}

/** What the training loop reports after each step. */
export interface Progress {
  epoch: number;
  step: number;
  loss: number;
  pairsPerSecond: number;
  etaSeconds: number;
}

/**
 * One progress line: the run's step and epoch, a smoothed loss, pairs/s and
 * the time left for the run's remaining steps (m:ss).
 */
export function progressLine(p: Progress, epochs: number, steps: number, smoothLoss: number): string {
  const eta = Math.max(0, Math.round(p.etaSeconds));
  const mmss = `${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, "0")}`;
  return `step ${(p.epoch - 1) * steps + p.step}/${epochs * steps} (epoch ${p.epoch}/${epochs})  ` +
    `loss ${smoothLoss.toFixed(4)}  ${p.pairsPerSecond.toFixed(0)} pairs/s  ETA ${mmss}`;
}

// Everything the training report plots, computed from a model, the test set
// and the run's history. Pure apart from TF.js inference; no file I/O.
import { UMAP } from "umap-js";
import type { ModelConfig } from "../../shared/config.ts";
import type { ParamMap } from "../../shared/params.ts";
import { sigmoid } from "../../shared/model.ts";
import { KernelModel } from "../../shared/kernels/infer.ts";
import { createRng } from "../../shared/rng.ts";
import { scorePairs, testProtocols } from "../eval/evaluate.ts";
import { equalErrorRate, rocCurve } from "../eval/metrics.ts";
import { digit, digitPng } from "../data/mnist.ts";
import { PIXELS } from "../../shared/preprocess.ts";
import type { EpochStats } from "../loop.ts";

export interface ReportInput {
  params: ParamMap;
  config: ModelConfig;
  threshold: number;
  test: { pixels: Uint8Array; labels: Uint8Array };
  history: { stepLosses: number[]; epochs: EpochStats[] };
  /** Test images embedded for the 2-D map (default 1,000). */
  embedCount?: number;
  /** Pairs of the balanced protocol (default 10,000). */
  balancedCount?: number;
}

/** SIDE x SIDE gray pixels (0..255) as a PNG data URL, for image marks. */
export function digitUrl(px: Uint8Array): string {
  return `data:image/png;base64,${digitPng(px).toBase64()}`;
}

/** Bias-corrected exponential moving average (as the seed smoothed its loss curve). */
export function emaCorrected(xs: number[], beta = 0.98): number[] {
  let m = 0;
  return xs.map((x, t) => {
    m = beta * m + (1 - beta) * x;
    return m / (1 - beta ** (t + 1));
  });
}

/** At most `n` evenly spaced elements of xs, keeping the first and last. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
}

export function collectReportData(r: ReportInput) {
  const img = (i: number) => digit(r.test.pixels, i);
  const protocols = testProtocols(r.test.labels, r.balancedCount ?? 10_000);
  const roc: { protocol: string; far: number; tar: number }[] = [];
  const points: { protocol: string; point: string; far: number; tar: number }[] = [];
  const scored: Record<string, Float32Array> = {};
  for (const [name, pairs] of Object.entries(protocols)) {
    const p = scorePairs(r.params, r.config, r.test.pixels, pairs).map(sigmoid);
    scored[name] = p;
    const curve = rocCurve(p, pairs.same);
    for (const c of thin(curve.filter((c) => Number.isFinite(c.threshold) || c.far === 0), 400)) {
      roc.push({ protocol: name, far: c.far, tar: c.tar });
    }
    const op = curve.filter((c) => c.threshold > r.threshold).at(-1) ?? curve[0];
    points.push({ protocol: name, point: `threshold ${r.threshold.toFixed(3)}`, far: op.far, tar: op.tar });
    const eer = equalErrorRate(p, pairs.same);
    points.push({ protocol: name, point: `EER ${(100 * eer).toFixed(2)}%`, far: eer, tar: 1 - eer });
  }
  const cons = protocols.consecutive, pc = scored.consecutive;
  const hist = Array.from(pc, (p, k) => ({ p, pair: cons.same[k] ? "same digit" : "different digits" }));
  const pair = (k: number) => ({
    k,
    a: digitUrl(img(cons.a[k])),
    b: digitUrl(img(cons.b[k])),
    p: pc[k],
    same: cons.same[k] === 1,
    wrong: (pc[k] > r.threshold) !== (cons.same[k] === 1),
  });
  const grid = Array.from({ length: 24 }, (_, k) => pair(k));
  const mistakes = Array.from(pc.keys())
    .filter((k) => (pc[k] > r.threshold) !== (cons.same[k] === 1))
    .sort((x, y) => Math.abs(pc[y] - cons.same[y]) - Math.abs(pc[x] - cons.same[x]))
    .slice(0, 12)
    .map(pair);
  const digits: { digit: number; col: number; url: string }[] = [];
  for (let d = 0; d < 10; d++) {
    let col = 0;
    for (let i = 0; i < r.test.labels.length && col < 10; i++) {
      if (r.test.labels[i] === d) digits.push({ digit: d, col: col++, url: digitUrl(img(i)) });
    }
  }
  const n = Math.min(r.embedCount ?? 1000, r.test.labels.length);
  const model = new KernelModel(r.params, r.config);
  const e = model.embed(Float32Array.from(r.test.pixels.subarray(0, n * PIXELS), (v) => v / 255));
  const dims = e.length / n;
  const rows = Array.from({ length: n }, (_, i) => Array.from(e.subarray(i * dims, (i + 1) * dims)));
  const rng = createRng(7);
  const xy = new UMAP({ nComponents: 2, nNeighbors: 15, nEpochs: 200, random: () => rng.next() }).fit(rows);
  const embedding = xy.map(([x, y], i) => ({ x, y, digit: String(r.test.labels[i]) }));
  const losses = r.history.stepLosses, ema = emaCorrected(losses);
  return {
    loss: thin(losses.map((l, i) => ({ step: i + 1, raw: l, ema: ema[i] })), 1500),
    epochs: r.history.epochs,
    roc,
    points,
    hist,
    threshold: r.threshold,
    grid,
    mistakes,
    digits,
    embedding,
  };
}

export type ReportData = Awaited<ReturnType<typeof collectReportData>>;

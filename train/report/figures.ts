// The report's figures as Vega-Lite specs (data in, spec out).
import type { TopLevelSpec } from "vega-lite";
import type { ReportData } from "./data.ts";

const base = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white" } as const;
/** The common head of a single-view figure. */
const frame = (title: string, width: number, height: number) => ({ ...base, title, width, height });

/** Training loss per step, raw and bias-corrected EMA. */
function loss(d: ReportData): TopLevelSpec {
  return {
    ...frame("Training loss per step", 640, 240),
    data: { values: d.loss },
    transform: [{ fold: ["raw", "ema"], as: ["series", "loss"] }],
    mark: { type: "line", strokeWidth: 1.2 },
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "loss", type: "quantitative", scale: { type: "log" }, title: "BCE loss (log)" },
      color: {
        field: "series",
        type: "nominal",
        scale: { domain: ["raw", "ema"], range: ["#c6d4ec", "#1f4e9c"] },
        legend: {
          labelLimit: 300,
          labelExpr: "datum.label == 'ema' ? 'EMA (0.98, bias-corrected)' : 'per step'",
        },
      },
    },
  };
}

/** Validation loss, accuracy and AUC per epoch. */
function epochs(d: ReportData): TopLevelSpec {
  const panel = (field: string, title: string) => ({
    width: 190,
    height: 150,
    title,
    mark: { type: "line" as const, point: true },
    encoding: {
      x: { field: "epoch", type: "ordinal" as const },
      y: { field, type: "quantitative" as const, scale: { zero: false }, title: null },
    },
  });
  return {
    ...base,
    title: "Validation (fixed balanced pairs) per epoch",
    data: { values: d.epochs },
    hconcat: [
      {
        ...panel("valLoss", "loss (dashed: training)"),
        layer: [
          {
            mark: { type: "line", point: true },
            encoding: { y: { field: "valLoss", type: "quantitative" } },
          },
          {
            mark: { type: "line", strokeDash: [4, 3], color: "#999" },
            encoding: { y: { field: "trainLoss", type: "quantitative" } },
          },
        ],
        mark: undefined,
      },
      panel("accuracy", "accuracy (p > 0.5)"),
      panel("auc", "ROC AUC"),
    ],
  } as TopLevelSpec;
}

/** ROC curves of both protocols, operating point and EER marked (zoomed when the model is good). */
function roc(d: ReportData): TopLevelSpec {
  const zoom = d.points.every((p) => p.far <= 0.1 && p.tar >= 0.8);
  const x = {
    field: "far",
    type: "quantitative" as const,
    title: "false accept rate",
    scale: { domain: zoom ? [0, 0.1] : [0, 1] },
  };
  const y = {
    field: "tar",
    type: "quantitative" as const,
    title: "true accept rate",
    scale: { domain: zoom ? [0.8, 1] : [0, 1] },
  };
  return {
    ...frame(zoom ? "ROC (zoomed: FAR <= 10%)" : "ROC", 420, 320),
    layer: [
      {
        data: { values: d.roc },
        mark: { type: "line", clip: true },
        encoding: { x, y, color: { field: "protocol", type: "nominal" } },
      },
      {
        data: { values: d.points },
        mark: { type: "point", filled: true, size: 70, clip: true },
        encoding: {
          x,
          y,
          color: { field: "protocol", type: "nominal" },
          shape: { field: "point", type: "nominal", title: "marked" },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Predicted probability for same vs different pairs, threshold line. */
function hist(d: ReportData): TopLevelSpec {
  return {
    ...frame("p(same) on the consecutive test pairs", 520, 240),
    layer: [
      {
        data: { values: d.hist },
        mark: { type: "bar", opacity: 0.6 },
        encoding: {
          x: { field: "p", type: "quantitative", bin: { maxbins: 40, extent: [0, 1] }, title: "p(same)" },
          y: { aggregate: "count", type: "quantitative", scale: { type: "symlog" }, title: "pairs (symlog)" },
          color: { field: "pair", type: "nominal", scale: { range: ["#d9534f", "#2e9e6a"] } },
        },
      },
      {
        data: { values: [{ t: d.threshold }] },
        mark: { type: "rule", color: "black", strokeDash: [5, 3] },
        encoding: { x: { field: "t", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

/** A grid of pairs (two digit images each), probability and verdict; wrong ones in red. */
function pairs(rows: ReportData["grid"], title: string, threshold: number): TopLevelSpec {
  const cols = 6;
  const values = rows.flatMap((r, i) => {
    const cx = (i % cols) * 130, cy = Math.floor(i / cols) * 96;
    const label = `${r.p.toFixed(3)} ${r.p > threshold ? "same" : "diff"}${r.same ? " (is same)" : ""}`;
    return [
      { kind: "img", url: r.a, x: cx + 30, y: cy + 30, wrong: r.wrong, label },
      { kind: "img", url: r.b, x: cx + 92, y: cy + 30, wrong: r.wrong, label },
      { kind: "text", x: cx + 61, y: cy + 78, wrong: r.wrong, label },
      { kind: "box", x: cx + 61, y: cy + 34, wrong: r.wrong, label },
    ];
  });
  const scale = (n: number) => ({
    type: "linear" as const,
    domain: [0, n],
    range: [0, n] as [number, number],
  });
  const pos = {
    x: { field: "x", type: "quantitative" as const, scale: scale(cols * 130), axis: null },
    y: {
      field: "y",
      type: "quantitative" as const,
      scale: { ...scale(Math.ceil(rows.length / cols) * 96) },
      axis: null,
    },
  };
  return {
    ...base,
    title,
    width: cols * 130,
    height: Math.ceil(rows.length / cols) * 96,
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.kind == 'box'" }],
        mark: { type: "rect", width: 124, height: 86, fill: "white", strokeWidth: 2.5 },
        encoding: {
          ...pos,
          stroke: {
            field: "wrong",
            type: "nominal",
            scale: { domain: [false, true], range: ["#ccd", "#d9534f"] },
            legend: null,
          },
        },
      },
      {
        transform: [{ filter: "datum.kind == 'img'" }],
        mark: { type: "image", width: 56, height: 56 },
        encoding: { ...pos, url: { field: "url", type: "nominal" } },
      },
      {
        transform: [{ filter: "datum.kind == 'text'" }],
        mark: { type: "text", fontSize: 11 },
        encoding: {
          ...pos,
          text: { field: "label" },
          color: {
            field: "wrong",
            type: "nominal",
            scale: { domain: [false, true], range: ["#333", "#d9534f"] },
            legend: null,
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Ten test digits of each class. */
function digits(d: ReportData): TopLevelSpec {
  return {
    ...frame("Input digits by class (MNIST test set)", 10 * 34, 10 * 34),
    data: { values: d.digits },
    mark: { type: "image", width: 30, height: 30 },
    encoding: {
      x: { field: "col", type: "ordinal", axis: null },
      y: { field: "digit", type: "ordinal", title: "class" },
      url: { field: "url", type: "nominal" },
    },
  };
}

/** UMAP of test-image embeddings coloured by digit. */
function embedding(d: ReportData): TopLevelSpec {
  return {
    ...frame(`Embeddings of ${d.embedding.length} test images (UMAP)`, 420, 380),
    data: { values: d.embedding },
    mark: { type: "circle", size: 14, opacity: 0.8 },
    encoding: {
      x: { field: "x", type: "quantitative", axis: null },
      y: { field: "y", type: "quantitative", axis: null },
      color: { field: "digit", type: "nominal", scale: { scheme: "category10" } },
    },
  };
}

/** All figures by file stem. */
export function figureSpecs(d: ReportData): Record<string, TopLevelSpec> {
  return {
    "training-loss": loss(d),
    "validation": epochs(d),
    "roc": roc(d),
    "probability-histogram": hist(d),
    "test-pairs": pairs(
      d.grid,
      "First 24 consecutive test pairs (red: wrong at the stored threshold)",
      d.threshold,
    ),
    "confident-mistakes": pairs(d.mistakes, "Most confident mistakes (consecutive protocol)", d.threshold),
    "digits": digits(d),
    "embedding": embedding(d),
  };
}

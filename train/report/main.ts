// deno task report [weights-dir]: the training report for an artifact, into
// DIR/report/: index.html (opens offline) plus each figure as PNG and SVG.
// `deno task train` runs the same after exporting.
import { viewLines } from "../eval/validation.ts";
import { useBackend } from "../../shared/backend.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "../data/mnist.ts";
import { readArtifactDir } from "../artifact_io.ts";
import { formatTable } from "../eval/evaluate.ts";
import { modelSummary } from "../summary.ts";
import type { Report } from "../eval/metrics.ts";
import { collectReportData, type ReportInput } from "./data.ts";
import { figureSpecs } from "./figures.ts";
import { reportHtml, toPng, toSvg } from "./render.ts";

const RESVG_WASM = new URL("../../node_modules/@resvg/resvg-wasm/index_bg.wasm", import.meta.url);
const FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];

function readFont(): Uint8Array | undefined {
  for (const f of FONTS) {
    try {
      return Deno.readFileSync(f);
    } catch { /* next */ }
  }
  console.warn(
    "report: no DejaVu Sans font found (apt-get install fonts-dejavu-core); PNGs will have no text",
  );
}

/** Tables shown in the report, from meta.json as train/main.ts writes it. */
// deno-lint-ignore no-explicit-any
export function reportTables(meta: any, config: ReportInput["config"]): Record<string, string> {
  const t: Record<string, string> = {};
  const tr = meta?.training;
  if (tr) {
    t["Run"] = [
      `recipe ${meta.recipe?.name ?? "?"}: ${JSON.stringify(meta.recipe)}`,
      `trained ${tr.pairs} pairs in ${tr.seconds.toFixed(1)} s (${
        tr.pairsPerSecond.toFixed(0)
      } pairs/s); backend ${meta.backend}`,
      `threshold ${meta.threshold?.toFixed(4)}: ${meta.thresholdRule}`,
      `weights: ${meta.weights?.quantize}, ${meta.weights?.bytes} bytes (float32 ${meta.weights?.float32Bytes})`,
    ].join("\n");
  }
  t["Model"] = modelSummary(config);
  if (meta?.validation) {
    t["Validation views at the threshold (held-out training images)"] = viewLines(meta.validation).join("\n");
  }
  for (const [k, v] of Object.entries(meta?.metrics ?? {})) {
    t[`Test metrics, ${k} weights`] = formatTable(Object.entries(v as Record<string, Report>));
  }
  return t;
}

/** Collect, render and write the report for `input` into `dir`. Returns the file names. */
// deno-lint-ignore no-explicit-any
export async function writeReport(dir: string, input: ReportInput, meta: any): Promise<string[]> {
  const data = await collectReportData(input);
  const specs = figureSpecs(data);
  const wasm = Deno.readFileSync(RESVG_WASM), font = readFont();
  await Deno.mkdir(dir, { recursive: true });
  const svgs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    svgs[name] = await toSvg(spec);
    await Deno.writeTextFile(`${dir}/${name}.svg`, svgs[name]);
    await Deno.writeFile(`${dir}/${name}.png`, await toPng(svgs[name], wasm, font));
  }
  await Deno.writeTextFile(
    `${dir}/index.html`,
    reportHtml("Siamese MNIST verifier: training report", svgs, reportTables(meta, input.config)),
  );
  return ["index.html", ...Object.keys(specs).flatMap((n) => [`${n}.svg`, `${n}.png`])];
}

if (import.meta.main) {
  const dir = (Deno.args[0] ?? "weights").replace(/\/+$/, "");
  try {
    await useBackend("wasm");
    const art = await readArtifactDir(dir);
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
    const history = JSON.parse(await Deno.readTextFile(`${dir}/history.json`));
    const { test } = loadDataset(meta?.data?.verifiedMnist === false ? meta.data.dir : DEFAULT_DATA_DIR);
    const files = await writeReport(`${dir}/report`, {
      params: art.params,
      config: art.config,
      threshold: art.threshold,
      test: { pixels: test.images.pixels, labels: test.labels },
      history,
    }, meta);
    console.log(`wrote ${dir}/report/: ${files.join(", ")}`);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}

// Figures -> SVG (Vega, headless) -> PNG (resvg, WebAssembly), and the one
// offline HTML page that inlines the SVGs beside the run's tables.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { initWasm, Resvg } from "@resvg/resvg-wasm";

let wasmReady: Promise<void> | undefined;

/** SVG text of a Vega-Lite spec. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG at 2x, text set in `font` (TTF bytes; none -> no text). */
export async function toPng(svg: string, resvgWasm: Uint8Array, font?: Uint8Array): Promise<Uint8Array> {
  wasmReady ??= initWasm(resvgWasm);
  await wasmReady;
  // Vega writes d="" for a line with no visible points (e.g. every point
  // clipped away); resvg-wasm 2.6 panics on those, so drop them.
  const r = new Resvg(svg.replace(/<path[^>]*\sd=""[^>]*>(<\/path>)?/g, ""), {
    fitTo: { mode: "zoom", value: 2 },
    font: font
      ? { fontBuffers: [font], defaultFontFamily: "DejaVu Sans", loadSystemFonts: false }
      : undefined,
  });
  return r.render().asPng();
}

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);

/** The report page: figures inline (opens offline), text tables, links to the PNGs. */
export function reportHtml(
  title: string,
  svgs: Record<string, string>,
  tables: Record<string, string>,
): string {
  const figures = Object.entries(svgs).map(([name, svg]) =>
    `<figure id="${name}">${svg}<figcaption><a href="${name}.png">${name}.png</a> · <a href="${name}.svg">svg</a></figcaption></figure>`
  );
  const text = Object.entries(tables).map(([name, t]) => `<h2>${esc(name)}</h2><pre>${esc(t)}</pre>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:16px;color:#1d2330}
figure{margin:18px 0}svg{max-width:100%;height:auto}pre{background:#f4f5f8;padding:10px;overflow-x:auto;font-size:12px}
figcaption{font-size:12px;color:#555}</style></head>
<body><h1>${esc(title)}</h1>
${text.slice(0, 1).join("\n")}
${figures.join("\n")}
${text.slice(1).join("\n")}
</body></html>
`;
}

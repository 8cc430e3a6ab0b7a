// deno task eval [weights-dir]: verify an artifact (hashes, sizes) and print
// its metrics on both MNIST test protocols, at its stored threshold and at
// the seed's rule (logit > 0.5). Measured now, never copied from meta.json.
import { parseArgs } from "node:util";
import { useBackend } from "../../shared/backend.ts";
import { DEFAULT_DATA_DIR, loadDataset } from "../data/mnist.ts";
import { evaluateProtocols, formatTable } from "./evaluate.ts";
import { readArtifactDir } from "../artifact_io.ts";
import { evaluateRobust, loadRobustSet } from "./robust.ts";
import { stopHeicDecoder } from "../../shared/heic_thread.ts";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: "string" }, help: { type: "boolean", default: false } },
});
if (a.help) {
  console.log("Usage: deno task eval [weights-dir (default weights)] [--data DIR]");
  Deno.exit(0);
}
const dirs = positionals.length ? positionals : ["weights"];
try {
  const data = loadDataset(a.data ?? DEFAULT_DATA_DIR);
  await useBackend("wasm");
  const robust = await loadRobustSet();
  stopHeicDecoder();
  for (const dir of dirs) {
    const art = await readArtifactDir(dir);
    const q = art.modelJson.userDefinedMetadata.quantize;
    console.log(
      `${dir}: ${q} weights, sha256 ${art.sha256.slice(0, 16)}…, threshold ${art.threshold.toFixed(4)}`,
    );
    const r = evaluateProtocols(
      art.params,
      art.config,
      { pixels: data.test.images.pixels, labels: data.test.labels },
      art.threshold,
    );
    Object.assign(r, evaluateRobust(art.params, art.config, robust, art.threshold));
    console.log(formatTable(Object.entries(r)));
  }
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}

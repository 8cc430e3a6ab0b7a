// Wiring shared by the entries: the wasm backend, the shipped weights (read
// relative to this file, so it works from any cwd and on Deno Deploy), the app.
import { useBackend } from "../shared/backend.ts";
import { createApp } from "./app.ts";
import { loadVerifier } from "./verifier.ts";
import { createDecodePool } from "./decode_pool.ts";

export const WEIGHTS_DIR = new URL("../weights/", import.meta.url);

/**
 * The app; the model loads in the background and /readyz turns 200 when it is
 * verified. Large images decode on a pool of one worker per core (at most 4).
 */
export function buildApp(dir = WEIGHTS_DIR, load = loadVerifier) {
  const verifier = useBackend("wasm").then(() => load(dir));
  const decodePool = createDecodePool(Math.min(4, navigator.hardwareConcurrency ?? 1));
  return { app: createApp({ verifier, decodePool, assets: pageAssets(dir) }), verifier, decodePool };
}

/**
 * The demo page and what it loads, all from this repository or its npm
 * packages (nothing from outside the service): the page, its bundled script,
 * TF.js as an ES module, and the weights the page runs in the browser.
 */
export function pageAssets(dir: URL) {
  const file = (url: URL, type: string) => ({ body: Deno.readFileSync(url), type });
  const here = (p: string) => new URL(p, import.meta.url);
  return {
    "/": file(here("./page/index.html"), "text/html; charset=utf-8"),
    "/page/app.js": file(here("./page/app.js"), "text/javascript; charset=utf-8"),
    "/vendor/tf.fesm.min.js": file(
      here("../node_modules/@tensorflow/tfjs/dist/tf.fesm.min.js"),
      "text/javascript; charset=utf-8",
    ),
    "/weights/model.json": file(new URL("model.json", dir), "application/json"),
    "/weights/weights.bin": file(new URL("weights.bin", dir), "application/octet-stream"),
  };
}

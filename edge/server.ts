// Wiring shared by the entries: the shipped weights (read relative to this
// file, so it works from any cwd and on Deno Deploy), the app.
import { type AppOptions, createApp } from "./app.ts";
import { loadVerifier } from "./verifier.ts";
import { DEFAULT_IMAGE_LIMITS } from "../shared/image.ts";

export const WEIGHTS_DIR = new URL("../weights/", import.meta.url);

/**
 * The app; the model loads in the background and /readyz turns 200 when it is
 * verified. Images decode off the main thread (sharp's own threads), so a
 * request's two images decode in parallel.
 */
export function buildApp(dir = WEIGHTS_DIR, load = loadVerifier) {
  const verifier = load(dir);
  return { app: createApp({ verifier, assets: pageAssets(dir), ...limitsFromEnv() }), verifier };
}

/**
 * MAX_BODY_MB (request body, MiB) and MAX_IMAGE_MP (pixels per image,
 * millions) override the defaults; anything but a positive number is ignored.
 */
export function limitsFromEnv(): Pick<AppOptions, "maxBodyBytes" | "imageLimits"> {
  const num = (k: string) => {
    const v = Number(Deno.env.get(k));
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const body = num("MAX_BODY_MB"), mp = num("MAX_IMAGE_MP");
  return {
    maxBodyBytes: body && Math.round(body * 1024 * 1024),
    imageLimits: mp ? { ...DEFAULT_IMAGE_LIMITS, maxPixels: Math.round(mp * 1e6) } : undefined,
  };
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

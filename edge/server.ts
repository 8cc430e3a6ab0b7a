// Wiring shared by the entries: the shipped weights (read relative to this
// file, so it works from any cwd and on Deno Deploy), the app.
import { type AppOptions, createApp, InFlight } from "./app.ts";
import { loadVerifier } from "./verifier.ts";
import { DEFAULT_IMAGE_LIMITS } from "../shared/image.ts";
import { warmDecoders } from "../shared/decode.ts";
import { Metrics } from "./metrics.ts";
import { requestLog } from "./log.ts";
import { BodyBudget } from "./body.ts";

export const WEIGHTS_DIR = new URL("../weights/", import.meta.url);

/**
 * The app; the model loads in the background and /readyz turns 200 when it is
 * verified. Images decode off the main thread (sharp's own threads), so a
 * request's two images decode in parallel.
 */
export function buildApp(dir = WEIGHTS_DIR, load = loadVerifier, extra: Partial<AppOptions> = {}) {
  const verifier = load(dir);
  const opts = {
    assets: pageAssets(dir),
    metrics: new Metrics(),
    ...limitsFromEnv(),
    ...productionFromEnv(),
  };
  const all = { ...opts, ...extra };
  return { app: createApp({ verifier, ...all }), verifier, log: all.log };
}

/**
 * CORS_ORIGINS (comma-separated, or *), API_KEYS (comma-separated) and
 * API_KEYS_FILE (one key a line), REQUEST_LOG ("off": no request log).
 * Throws if API_KEYS_FILE cannot be read: a server meant to need keys must
 * not start without them.
 */
export function productionFromEnv(): Pick<AppOptions, "corsOrigins" | "apiKeys" | "log"> {
  const list = (v?: string) => v?.split(/[,\n]/).map((x) => x.trim()).filter(Boolean) ?? [];
  const file = Deno.env.get("API_KEYS_FILE");
  const apiKeys = [...list(Deno.env.get("API_KEYS")), ...(file ? list(Deno.readTextFileSync(file)) : [])];
  return {
    corsOrigins: list(Deno.env.get("CORS_ORIGINS")),
    apiKeys,
    log: Deno.env.get("REQUEST_LOG") === "off" ? undefined : requestLog(),
  };
}

/** A positive number from the environment, else undefined. */
function envNumber(k: string): number | undefined {
  const v = Number(Deno.env.get(k));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/**
 * Bytes of request bodies being read at once (MAX_UPLOADS_MB, default 128):
 * for all of edge/main.ts's isolates together; under `deno serve --parallel`
 * (edge/serve.ts), for each isolate.
 */
export function uploadBudgetFromEnv(): number {
  return Math.round((envNumber("MAX_UPLOADS_MB") ?? 128) * 1024 * 1024);
}

/**
 * MAX_BODY_MB (request body, MiB), MAX_IMAGE_MP (pixels per image,
 * millions), BODY_TIMEOUT_S (seconds for a body to arrive whole) and
 * MAX_UPLOADS_MB (see uploadBudgetFromEnv) override the defaults; anything
 * but a positive number is ignored.
 */
export function limitsFromEnv(): Pick<
  AppOptions,
  "maxBodyBytes" | "imageLimits" | "bodyTimeoutMs" | "bodyBudget"
> {
  const body = envNumber("MAX_BODY_MB"), mp = envNumber("MAX_IMAGE_MP"), wait = envNumber("BODY_TIMEOUT_S");
  return {
    maxBodyBytes: body && Math.round(body * 1024 * 1024),
    imageLimits: mp ? { ...DEFAULT_IMAGE_LIMITS, maxPixels: Math.round(mp * 1e6) } : undefined,
    bodyTimeoutMs: wait && wait * 1000,
    bodyBudget: new BodyBudget(uploadBudgetFromEnv()),
  };
}

/**
 * The demo page and what it loads, all from this repository or its npm
 * packages (nothing from outside the service): the page, its bundled script,
 * TF.js as an ES module, and the weights the page runs in the browser.
 */
export function pageAssets(dir: URL) {
  // Read on first request, not at start-up: a cold start answers /verify first.
  const file = (url: URL, type: string) => {
    let body: Uint8Array | undefined;
    return {
      url,
      type,
      get body() {
        return body ??= Deno.readFileSync(url);
      },
    };
  };
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

/** How long a drain waits for requests in flight: inside Deno Deploy's 5 s between SIGINT and SIGKILL. */
const DRAIN_MS = 4500;

/**
 * Serve the app in this isolate once the model has loaded (rejects if it
 * fails to load). `reusePort` lets several isolates listen on one port (the
 * kernel spreads connections over them). `drain()` answers new requests
 * with 503 shutting_down, lets requests in flight finish (up to DRAIN_MS),
 * then closes the listener: Deno's own shutdown cuts request bodies still
 * being uploaded, so it comes last.
 */
export async function startServer(
  opts: {
    port: number;
    hostname: string;
    reusePort?: boolean;
    dir?: URL;
  } & Partial<AppOptions>,
) {
  const { port, hostname, reusePort, dir, ...extra } = opts;
  const inFlight = new InFlight();
  const { app, verifier, log } = buildApp(dir, loadVerifier, { ...extra, inFlight });
  const v = await verifier;
  const server = Deno.serve({ port, hostname, reusePort, onListen: () => {} }, app.fetch);
  // The image decoders load on first use; load them once the process has had
  // a second to answer what woke it (a cold start's first request).
  Deno.unrefTimer(setTimeout(() => warmDecoders().catch(() => {}), 1000));
  return {
    verifier: v,
    /** Resolves when this isolate has answered its first request. */
    answered: inFlight.answered,
    async drain() {
      inFlight.draining = true;
      const deadline = Date.now() + DRAIN_MS;
      while (inFlight.count > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await server.shutdown();
      await log?.flush();
    },
  };
}

/** Where to listen: PORT (default 8000) and HOST (default 0.0.0.0). */
export function listenFromEnv() {
  return { port: Number(Deno.env.get("PORT") ?? 8000), hostname: Deno.env.get("HOST") ?? "0.0.0.0" };
}

/** WEIGHTS_DIR (a directory path) overrides the shipped weights. */
export function weightsFromEnv(): URL | undefined {
  const dir = Deno.env.get("WEIGHTS_DIR");
  return dir ? new URL(`file://${Deno.realPathSync(dir)}/`) : undefined;
}

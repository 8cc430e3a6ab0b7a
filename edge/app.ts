// The Hono app, built by a factory so tests can pass any (or a pending)
// model. Routes: POST /verify, POST /embed, GET /healthz, GET /readyz,
// GET /metrics, GET /openapi.json, GET / (the page) and its files.
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { timingSafeEqual } from "hono/utils/buffer";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { ClientError } from "../shared/errors.ts";
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from "../shared/image.ts";
import { errorBody, onError } from "./errors.ts";
import { readInputs } from "./inputs.ts";
import type { BodyBudget, BodyOptions } from "./body.ts";
import { decoderInUse } from "../shared/decode.ts";
import { openApi } from "./openapi.ts";
import { staticFile } from "./static.ts";
import type { Verifier } from "./verifier.ts";
import { type Metrics, ROUTES } from "./metrics.ts";
import type { RequestLog } from "./log.ts";

export interface AppOptions {
  /** The model, or a promise of it: requests before it settles get 503. */
  verifier: Verifier | Promise<Verifier>;
  /** Largest request body in bytes (default DEFAULT_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  imageLimits?: ImageLimits;
  /**
   * Why /readyz should still answer 503 although this isolate's model has
   * loaded (edge/main.ts: other isolates still starting), or undefined.
   */
  holdReadiness?: () => string | undefined;
  /** Origins allowed to call /verify and /embed from a browser ("*": any); none: same origin only. */
  corsOrigins?: string[];
  /** When set, /verify, /embed and /metrics need `Authorization: Bearer <one of them>`. */
  apiKeys?: string[];
  /** Whole-process counters (edge/metrics.ts) for GET /metrics; none: no /metrics route. */
  metrics?: Metrics;
  /** Isolates serving in this process, for /metrics (default 1). */
  isolates?: number;
  /** Where each request's log line goes; none: no request log. */
  log?: RequestLog;
  /** How long a request body may take to arrive whole (default DEFAULT_BODY_TIMEOUT_MS); then 408. */
  bodyTimeoutMs?: number;
  /** Bytes all bodies being read at once may reserve (shared by edge/main.ts's isolates); beyond: 503. */
  bodyBudget?: BodyBudget;
  /** Requests in flight and the drain switch (edge/server.ts); none: never draining. */
  inFlight?: InFlight;
  /** Static files by path (the demo page, its script, TF.js, the weights); "/" is the page. `body` is read when a request asks for it. */
  assets?: Record<string, { readonly body: Uint8Array; type: string }>;
}

/** Two phone photos of up to 12 MiB each, with room for the multipart framing. */
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;
/** A body that has not arrived whole this long after its request is answered 408. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

const round = (x: number) => Math.round(x * 1000) / 1000;

type Env = {
  Variables: {
    requestId: string;
    errorCode?: string;
    timing?: { decode: number; infer: number };
    /** The loaded model, on the routes that need it. */
    model: Verifier;
    /** How the model routes read their body. */
    body: BodyOptions;
  };
};

/**
 * Requests in flight in one isolate, and its drain switch: once `draining`,
 * new requests are answered 503 shutting_down (their connections closed)
 * while those in flight finish.
 */
export class InFlight {
  count = 0;
  draining = false;
  #first = Promise.withResolvers<void>();
  /** Resolves when the first request has been answered. */
  readonly answered: Promise<void> = this.#first.promise;

  /** Count the request through `next`, or refuse it when draining. */
  readonly middleware: MiddlewareHandler = async (_c, next) => {
    if (this.draining) {
      throw new ClientError("shutting_down", "Server is shutting down; retry on another instance");
    }
    this.count++;
    try {
      await next();
    } finally {
      this.count--;
      this.#first.resolve();
    }
  };
}

/** The route label of a request: its route, "static" for the page's files, or "other". */
function routeOf(c: Context, assets: Record<string, unknown>): string {
  const p = c.req.path;
  return ROUTES.includes(p) ? p : p in assets || p.startsWith("/weights/") ? "static" : "other";
}

/** Count and time every answer (metrics) and write its log line (log). */
function observe(
  metrics: Metrics | undefined,
  log: RequestLog | undefined,
  assets: Record<string, unknown>,
): MiddlewareHandler<Env> {
  return async (c, next) => {
    const t0 = performance.now();
    await next();
    const ms = performance.now() - t0, route = routeOf(c, assets), status = c.res.status;
    const timing = c.get("timing");
    if (metrics) {
      metrics.request(route, status);
      metrics.observe("total", route, ms);
      if (timing) {
        metrics.observe("decode", route, timing.decode);
        metrics.observe("inference", route, timing.infer);
      }
    }
    const int = (h: string | null | undefined) => (h ? Number(h) : undefined);
    log?.write({
      time: new Date().toISOString(),
      request_id: c.get("requestId"),
      method: c.req.method,
      route,
      status,
      code: c.get("errorCode"),
      decode_ms: timing && round(timing.decode),
      infer_ms: timing && round(timing.infer),
      ms: round(ms),
      bytes_in: int(c.req.header("content-length")),
      bytes_out: int(c.res.headers.get("content-length")),
    });
  };
}

/**
 * Hono's CORS for the listed origins only: a request (or preflight) from any
 * other origin gets no Access-Control-* header at all.
 */
function corsFor(origins: string[]): MiddlewareHandler {
  const any = origins.includes("*");
  const mw = cors({
    origin: any ? "*" : origins,
    allowMethods: ["POST", "OPTIONS"],
    allowHeaders: ["content-type", "authorization"],
    maxAge: 600,
  });
  return (c, next) => (any || origins.includes(c.req.header("origin") ?? "") ? mw(c, next) : next());
}

/** `Authorization: Bearer <key>` against every key, in constant time (Hono's timingSafeEqual); preflights pass. */
function requireKey(keys: string[]): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return next();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    let ok = false;
    if (m) { for (const k of keys) ok = (await timingSafeEqual(k, m[1])) || ok; // every key, no early exit
     }
    if (!ok) {
      throw new ClientError(
        "unauthorized",
        m ? "Invalid API key" : "This server needs an API key: send Authorization: Bearer <key>",
      );
    }
    await next();
  };
}

/**
 * The service as a Hono app: POST /verify and /embed (multipart files or
 * JSON), GET /healthz, /readyz, /metrics, /openapi.json, and the page's
 * files. Every error is {error: {code, message}, request_id} with the status
 * of shared/errors.ts's table. `opts.verifier` may be a promise: model routes
 * answer 503 not_ready until it settles.
 *
 * @example
 * ```ts
 * import { loadVerifier } from "./verifier.ts";
 * import { WEIGHTS_DIR } from "./server.ts";
 *
 * const app = createApp({ verifier: loadVerifier(WEIGHTS_DIR) });
 * const r = await app.request("/healthz");
 * console.log(r.status); // 200
 * ```
 */
export function createApp(opts: AppOptions) {
  let ready = opts.verifier instanceof Promise ? undefined : opts.verifier;
  let failure: string | undefined;
  if (opts.verifier instanceof Promise) {
    opts.verifier.then((v) => (ready = v), (e) => (failure = (e as Error).message));
  }
  const limits = opts.imageLimits ?? DEFAULT_IMAGE_LIMITS;
  /** Readiness: the routes that need the model answer 503 not_ready until it has loaded. */
  const loaded: MiddlewareHandler<Env> = async (c, next) => {
    if (!ready) {
      throw new ClientError(
        "not_ready",
        failure ? `Model failed to load: ${failure}` : "Model is still loading",
      );
    }
    c.set("model", ready);
    await next();
  };

  const app = new Hono<Env>();
  app.use(requestId());
  if (opts.log || opts.metrics) app.use(observe(opts.metrics, opts.log, opts.assets ?? {}));
  if (opts.inFlight) app.use(opts.inFlight.middleware);
  app.use(secureHeaders());
  if (opts.corsOrigins?.length) {
    const allowed = corsFor(opts.corsOrigins);
    app.use("/verify", allowed);
    app.use("/embed", allowed);
  }
  if (opts.apiKeys?.length) {
    const keyed = requireKey(opts.apiKeys);
    for (const path of ["/verify", "/embed", "/metrics"]) app.use(path, keyed);
  }
  app.onError(onError);
  app.notFound((c) => {
    c.set("errorCode", "not_found");
    return c.json(errorBody("not_found", `No route ${c.req.method} ${c.req.path}`, c), 404);
  });
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const bodyTimeout = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  /** The body's deadline and its share of the budget, given back when the answer is made. */
  const upload: MiddlewareHandler<Env> = async (c, next) => {
    const lease = opts.bodyBudget?.lease();
    c.set("body", { maxBytes: maxBody, deadline: performance.now() + bodyTimeout, lease });
    try {
      await next();
    } finally {
      lease?.release();
    }
  };

  app.get("/healthz", (c) => c.json({ ok: true }));
  const held: MiddlewareHandler = async (_, next) => {
    const why = opts.holdReadiness?.();
    if (why) throw new ClientError("not_ready", why);
    await next();
  };
  app.get("/readyz", loaded, held, async (c) => {
    const m = c.var.model, heap = Deno.memoryUsage();
    return c.json({
      ready: true,
      model: { version: m.version, sha256: m.sha256 },
      decoder: await decoderInUse(),
      // this isolate's (the answer comes from whichever isolate took the connection)
      memory: {
        isolate: (globalThis as { name?: string }).name || "isolate-0",
        heap_used_bytes: heap.heapUsed,
        heap_total_bytes: heap.heapTotal, // what V8 holds for it
        kernel_bytes: m.memoryBytes,
      },
    });
  });
  app.get("/openapi.json", (c) => c.json(openApi));
  const metrics = opts.metrics;
  if (metrics) {
    app.get("/metrics", loaded, (c) =>
      c.text(metrics.render(c.var.model, opts.isolates ?? 1), 200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
      }));
  }
  for (const [path, asset] of Object.entries(opts.assets ?? {})) {
    app.get(path, staticFile(asset, { page: path === "/" }));
  }
  // The weights again at a URL named by their SHA-256 (model.json lists it): immutable.
  const weights = opts.assets?.["/weights/weights.bin"];
  if (weights) {
    const immutable = staticFile(weights, { immutable: true });
    app.get("/weights/:file{[0-9a-f]{64}\\.bin}", loaded, (c) => {
      if (c.req.param("file") !== `${c.var.model.sha256}.bin`) {
        throw new ClientError("not_found", `No weights ${c.req.param("file")} here`);
      }
      return immutable(c);
    });
  }
  // Without the page (an app built with no assets): a plain-text pointer to the API.
  if (!opts.assets?.["/"]) {
    app.get("/", (c) =>
      c.text(
        "Same-digit verifier: POST two digit images, get whether they show the same digit.\n\n" +
          "  curl -F a=@one.png -F b=@two.png http://HOST/verify\n\n" +
          'Also: POST /embed (one image as field "image"), GET /healthz, GET /readyz, GET /metrics, GET /openapi.json\n',
      ));
  }

  app.post("/verify", loaded, upload, async (c) => {
    const m = c.var.model;
    const { images: [a, b], threshold, decodeMs, formats } = await readInputs(
      c.req.raw,
      ["a", "b"],
      m.config.inputSize,
      limits,
      c.var.body,
    );
    for (const f of formats) metrics?.image(f);
    const t0 = performance.now();
    const { probability } = m.score(a, b);
    const t = threshold ?? m.threshold;
    c.set("timing", { decode: decodeMs, infer: performance.now() - t0 });
    return c.json({
      same: probability > t,
      probability,
      threshold: t,
      model: { version: m.version, sha256: m.sha256 },
      timing: { decode_ms: round(decodeMs), infer_ms: round(performance.now() - t0) },
    });
  });

  app.post("/embed", loaded, upload, async (c) => {
    const m = c.var.model;
    const { images: [x], decodeMs, formats } = await readInputs(
      c.req.raw,
      ["image"],
      m.config.inputSize,
      limits,
      c.var.body,
    );
    for (const f of formats) metrics?.image(f);
    const t0 = performance.now();
    const e = m.embed(x);
    c.set("timing", { decode: decodeMs, infer: performance.now() - t0 });
    return c.json({
      embedding: Array.from(e),
      dims: e.length,
      model: { version: m.version, sha256: m.sha256 },
      timing: { decode_ms: round(decodeMs), infer_ms: round(performance.now() - t0) },
    });
  });
  return app;
}

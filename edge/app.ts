// The Hono app, built by a factory so tests can pass any (or a pending)
// model. Routes: POST /verify, POST /embed, GET /healthz, GET /readyz,
// GET /openapi.json, GET /.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { ClientError } from "../shared/errors.ts";
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from "../shared/image.ts";
import { errorBody, onError } from "./errors.ts";
import { readInputs } from "./inputs.ts";
import { decoderInUse } from "../shared/decode.ts";
import { openApi } from "./openapi.ts";
import type { Verifier } from "./verifier.ts";

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
  /** Static files by path (the demo page, its script, TF.js, the weights); "/" is the page. `body` is read when a request asks for it. */
  assets?: Record<string, { readonly body: Uint8Array; type: string }>;
}

/** Two phone photos of up to 12 MiB each, with room for the multipart framing. */
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;

const round = (x: number) => Math.round(x * 1000) / 1000;

export function createApp(opts: AppOptions) {
  let ready = opts.verifier instanceof Promise ? undefined : opts.verifier;
  let failure: string | undefined;
  if (opts.verifier instanceof Promise) {
    opts.verifier.then((v) => (ready = v), (e) => (failure = (e as Error).message));
  }
  const limits = opts.imageLimits ?? DEFAULT_IMAGE_LIMITS;
  const model = (): Verifier => {
    if (ready) return ready;
    throw new ClientError(
      "not_ready",
      failure ? `Model failed to load: ${failure}` : "Model is still loading",
    );
  };

  const app = new Hono<{ Variables: { requestId: string } }>();
  app.use(requestId());
  app.use(secureHeaders());
  app.onError(onError);
  app.notFound((c) => c.json(errorBody("not_found", `No route ${c.req.method} ${c.req.path}`, c), 404));
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limit = bodyLimit({
    maxSize: maxBody,
    onError: () => {
      throw new ClientError("body_too_large", `Request body exceeds ${maxBody} bytes`);
    },
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const m = model(), heap = Deno.memoryUsage(), held = opts.holdReadiness?.();
    if (held) throw new ClientError("not_ready", held);
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
  for (const [path, asset] of Object.entries(opts.assets ?? {})) {
    app.get(path, (c) =>
      c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
        "content-type": asset.type,
        "cache-control": "no-cache",
      }));
  }
  app.get("/", (c) =>
    c.text(
      "Same-digit verifier: POST two digit images, get whether they show the same digit.\n\n" +
        "  curl -F a=@one.png -F b=@two.png http://HOST/verify\n\n" +
        'Also: POST /embed (one image as field "image"), GET /healthz, GET /readyz, GET /openapi.json\n',
    ));

  app.post("/verify", limit, async (c) => {
    const m = model();
    const { images: [a, b], threshold, decodeMs } = await readInputs(
      c.req.raw,
      ["a", "b"],
      m.config.inputSize,
      limits,
    );
    const t0 = performance.now();
    const { probability } = m.score(a, b);
    const t = threshold ?? m.threshold;
    return c.json({
      same: probability > t,
      probability,
      threshold: t,
      model: { version: m.version, sha256: m.sha256 },
      timing: { decode_ms: round(decodeMs), infer_ms: round(performance.now() - t0) },
    });
  });

  app.post("/embed", limit, async (c) => {
    const m = model();
    const { images: [x], decodeMs } = await readInputs(
      c.req.raw,
      ["image"],
      m.config.inputSize,
      limits,
    );
    const t0 = performance.now();
    const e = m.embed(x);
    return c.json({
      embedding: Array.from(e),
      dims: e.length,
      model: { version: m.version, sha256: m.sha256 },
      timing: { decode_ms: round(decodeMs), infer_ms: round(performance.now() - t0) },
    });
  });
  return app;
}

// What production needs around the model: CORS for listed origins only, API
// keys, the request log, and whole-process /metrics over a real socket with
// two isolates.
import { createApp } from "../edge/app.ts";
import { buildApp, WEIGHTS_DIR } from "../edge/server.ts";
import { requestLog } from "../edge/log.ts";
import { Metrics } from "../edge/metrics.ts";
import { spawnServer } from "../edge/spawn.ts";
import { STATUS } from "../edge/errors.ts";
import { drawn, png, randomVerifier } from "./fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

const verifier = await randomVerifier();
const seven = png(
  40,
  40,
  drawn(
    40,
    40,
    (x, y) => (y < 8 && x > 8 && x < 32) || (Math.abs(x - (32 - (y - 8) / 2)) < 3 && y >= 8 && y < 36),
  ),
);
const form = () => {
  const f = new FormData();
  f.append("a", new Blob([seven as Uint8Array<ArrayBuffer>], { type: "image/png" }), "a.png");
  f.append("b", new Blob([seven as Uint8Array<ArrayBuffer>], { type: "image/png" }), "b.png");
  return f;
};
const corsHeaders = (r: Response) => [...r.headers.keys()].filter((k) => k.startsWith("access-control-"));

Deno.test("CORS: a preflight from a listed origin gets the Access-Control-Allow-* headers, from any other none", async () => {
  const app = createApp({ verifier, corsOrigins: ["https://a.example"] });
  const preflight = (origin: string, path = "/verify") =>
    app.request(path, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
  for (const path of ["/verify", "/embed"]) {
    const ok = await preflight("https://a.example", path);
    assertEquals(ok.status, 204);
    assertEquals(ok.headers.get("access-control-allow-origin"), "https://a.example");
    assert(ok.headers.get("access-control-allow-methods")?.includes("POST"));
    const other = await preflight("https://evil.example", path);
    assertEquals(corsHeaders(other), [], `${path}: headers for another origin`);
    await other.body?.cancel();
  }
  const post = await app.request("/verify", {
    method: "POST",
    body: form(),
    headers: { origin: "https://a.example" },
  });
  assertEquals([post.status, post.headers.get("access-control-allow-origin")], [200, "https://a.example"]);
  await post.body?.cancel();
  // Without CORS_ORIGINS: same origin only, no header for anyone.
  const none = await createApp({ verifier }).request("/verify", {
    method: "OPTIONS",
    headers: { origin: "https://a.example", "access-control-request-method": "POST" },
  });
  assertEquals(corsHeaders(none), []);
  await none.body?.cancel();
});

Deno.test("API keys: the model routes and /metrics need one (401 unauthorized), health, readiness, preflights and the page do not; no key reaches the log", async () => {
  const lines: string[] = [];
  const log = requestLog({
    write: (b) => (lines.push(new TextDecoder().decode(b)), Promise.resolve(b.length)),
  });
  const app = createApp({
    verifier,
    apiKeys: ["key-one", "key-two"],
    metrics: new Metrics(),
    corsOrigins: ["*"],
    log,
    assets: { "/": { body: new TextEncoder().encode("<html></html>"), type: "text/html" } },
  });
  const call = (auth?: string, path = "/verify") =>
    app.request(path, {
      method: path === "/metrics" ? "GET" : "POST",
      body: path === "/metrics" ? undefined : form(),
      headers: auth === undefined ? {} : { authorization: auth },
    });
  for (const path of ["/verify", "/embed", "/metrics"]) {
    for (
      const auth of [undefined, "Bearer wrong", "Bearer key-one-and-more", "key-one", "Basic a2V5LW9uZQ=="]
    ) {
      const r = await call(auth, path);
      const body = await r.json();
      assertEquals(
        [r.status, body.error.code],
        [STATUS.unauthorized, "unauthorized"],
        `${path} with ${auth}`,
      );
      assert(typeof body.request_id === "string");
      assertEquals(r.headers.get("www-authenticate"), 'Bearer realm="verifier"');
    }
  }
  for (const key of ["key-one", "key-two"]) {
    const r = await call(`Bearer ${key}`, key === "key-one" ? "/verify" : "/metrics");
    assertEquals(r.status, 200, key);
    await r.body?.cancel();
  }
  for (const path of ["/healthz", "/readyz", "/", "/openapi.json"]) {
    const r = await app.request(path);
    assertEquals(r.status, 200, path);
    await r.body?.cancel();
  }
  const preflight = await app.request("/verify", {
    method: "OPTIONS",
    headers: { origin: "https://a.example", "access-control-request-method": "POST" },
  });
  assertEquals(preflight.status, 204);
  await log.flush();
  const text = lines.join("");
  assert(text.includes('"status":401') && text.includes('"code":"unauthorized"'), "401s not logged");
  for (const secret of ["key-one", "key-two", "Bearer", "a2V5LW9uZQ=="]) {
    assert(!text.includes(secret), `log has ${secret}`);
  }
});

Deno.test("the request log: one JSON line per request, with its id, route, status, error code, timings and bytes", async () => {
  const lines: string[] = [];
  const log = requestLog({
    write: (b) => (lines.push(new TextDecoder().decode(b)), Promise.resolve(b.length)),
  });
  const app = createApp({ verifier, log });
  const ok = await app.request("/verify", { method: "POST", body: form() });
  const bad = await app.request("/verify", {
    method: "POST",
    body: '{"a": [1, 2], "b": "x"}',
    headers: { "content-type": "application/json", "content-length": "23" },
  });
  const missing = await app.request("/nope");
  for (const r of [ok, bad, missing]) await r.body?.cancel();
  await log.flush();
  const entries = lines.join("").trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(entries.map((e) => [e.method, e.route, e.status, e.code]), [
    ["POST", "/verify", 200, undefined],
    ["POST", "/verify", 400, "bad_base64"],
    ["GET", "other", 404, "not_found"],
  ]);
  assertEquals(entries[0].request_id, ok.headers.get("x-request-id"));
  assert(entries[0].decode_ms >= 0 && entries[0].infer_ms >= 0 && entries[0].ms >= entries[0].infer_ms);
  assertEquals(entries[1].bytes_in, 23);
  assert(!Number.isNaN(Date.parse(entries[0].time)));
});

Deno.test("/metrics over a real socket with 2 isolates counts the whole process: every scrape sees every request", async () => {
  const { child, base } = await spawnServer({ env: { ISOLATES: "2", REQUEST_LOG: "off" } });
  try {
    const fresh = async (path: string, init?: RequestInit) => {
      const client = Deno.createHttpClient({});
      try {
        const r = await fetch(`${base}${path}`, { ...init, client });
        return { status: r.status, text: await r.text() };
      } finally {
        client.close();
      }
    };
    const count = (text: string, route: string, status: number) =>
      Number(
        text.match(new RegExp(`verifier_requests_total\\{[^}]*route="${route}",status="${status}"\\} (\\d+)`))
          ?.[1] ?? 0,
      );
    const isolates = new Set<string>();
    const n = 24, readyBefore = count((await fresh("/metrics")).text, "/readyz", 200); // spawnServer polled it
    for (let i = 0; i < n; i++) {
      const r = await fresh("/verify", { method: "POST", body: form() });
      assertEquals(r.status, 200);
      isolates.add(JSON.parse((await fresh("/readyz")).text).memory.isolate);
    }
    assertEquals(isolates.size, 2, `answered by ${[...isolates]}`);
    for (let scrape = 0; scrape < 6; scrape++) {
      const m = (await fresh("/metrics")).text;
      assertEquals(count(m, "/verify", 200), n, `scrape ${scrape}`);
      assertEquals(count(m, "/readyz", 200) - readyBefore, n, `scrape ${scrape}`);
      assert(m.includes(`verifier_images_decoded_total{model="`) && m.includes(`format="png"} ${2 * n}`));
      assert(/verifier_decode_duration_seconds_count\{[^}]*route="\/verify"\} 24/.test(m));
      assert(m.includes("verifier_isolates 2"));
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
});

Deno.test("static files: ETag and 304, brotli or gzip when accepted, immutable weights at their SHA-256, the page's CSP", async () => {
  const { app, verifier: loaded } = buildApp(WEIGHTS_DIR, undefined, { log: undefined });
  const v = await loaded;
  const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers });
  for (
    const path of [
      "/",
      "/page/app.js",
      "/vendor/tf.fesm.min.js",
      "/weights/model.json",
      "/weights/weights.bin",
    ]
  ) {
    const first = await get(path, { "accept-encoding": "gzip, br" });
    assertEquals(first.status, 200, path);
    const etag = first.headers.get("etag")!;
    assert(/^"[0-9a-f]{32}"$/.test(etag), `${path}: etag ${etag}`);
    assertEquals(first.headers.get("cache-control"), "no-cache", path);
    const body = new Uint8Array(await first.arrayBuffer());
    const plain = new Uint8Array(await (await get(path)).arrayBuffer());
    if (path !== "/weights/weights.bin") { // text compresses; quantized weights barely
      assertEquals(first.headers.get("content-encoding"), "br", path);
      assert(body.length < 0.5 * plain.length, `${path}: ${body.length} of ${plain.length} bytes`);
      const gz = await get(path, { "accept-encoding": "gzip" });
      assertEquals(gz.headers.get("content-encoding"), "gzip");
      const unzipped = await new Response(gz.body!.pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer();
      assertEquals(new Uint8Array(unzipped), plain, `${path}: gzip round trip`);
    }
    const again = await get(path, { "if-none-match": etag, "accept-encoding": "gzip, br" });
    assertEquals([again.status, (await again.arrayBuffer()).byteLength], [304, 0], path);
  }
  const immutable = await get(`/weights/${v.sha256}.bin`);
  assertEquals(immutable.status, 200);
  assertEquals(immutable.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assertEquals(
    new Uint8Array(await immutable.arrayBuffer()),
    await Deno.readFile(new URL("weights.bin", WEIGHTS_DIR)),
  );
  const wrong = await get(`/weights/${"0".repeat(64)}.bin`);
  assertEquals(wrong.status, 404);
  await wrong.body?.cancel();
  const csp = (await get("/")).headers.get("content-security-policy")!;
  assert(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/.test(csp) && csp.includes("default-src 'self'"), csp);
  assert(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
});

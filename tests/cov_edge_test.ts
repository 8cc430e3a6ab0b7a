// The request paths the other edge tests leave untaken, through the HTTP API
// (createApp(...).request()), each answered with README's error table: a
// threshold sent twice, no body, no Content-Type, a body that stalls (408) or passes
// the upload budget (503 overloaded), a model that failed to load, requests
// without an Origin or preflights where CORS and API keys are configured, and
// /embed's image counted in /metrics.
import { createApp } from "../edge/app.ts";
import { BodyBudget } from "../edge/body.ts";
import { Metrics } from "../edge/metrics.ts";
import { STATUS } from "../edge/errors.ts";
import { useBackend } from "../shared/backend.ts";
import { drawn, form, png, randomVerifier } from "./fixtures.ts";
import { assertEquals } from "./assert.ts";

await useBackend("wasm");
const verifier = await randomVerifier();
const digit = png(40, 40, drawn(40, 40, (x, y) => Math.abs(x - 20) < 3 && y > 5 && y < 35));

/** The answer's status and error code (or "ok"), its body read. */
async function answer(r: Response | Promise<Response>): Promise<[number, string]> {
  const res = await r, body = await res.json();
  return [res.status, body.error?.code ?? "ok"];
}
const refusal = (code: keyof typeof STATUS): [number, string] => [STATUS[code], code];

Deno.test("multipart: a threshold field sent twice is 400 bad_request", async () => {
  const f = form({ a: digit, b: digit, threshold: "0.5" });
  f.append("threshold", "0.7");
  assertEquals(
    await answer(createApp({ verifier }).request("/verify", { method: "POST", body: f })),
    refusal("bad_request"),
  );
});

Deno.test("a JSON POST with no body at all is 400 bad_request (malformed JSON)", async () => {
  const r = createApp({ verifier }).request("/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  assertEquals(await answer(r), refusal("bad_request"));
});

Deno.test("a body with no Content-Type at all is 415 unsupported_media_type", async () => {
  const r = await createApp({ verifier }).request("/verify", {
    method: "POST",
    body: Uint8Array.of(1, 2, 3),
  });
  assertEquals(r.headers.get("content-type")?.startsWith("application/json"), true);
  assertEquals(await answer(r), refusal("unsupported_media_type"));
});

Deno.test("a body that stops arriving is 408 request_timeout once the body timeout passes; the connection closes", async () => {
  const app = createApp({ verifier, bodyTimeoutMs: 100 });
  let cancelled = false;
  const stalled = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new TextEncoder().encode('{"a": [')), // and nothing more
    cancel: () => void (cancelled = true),
  });
  // 1000 bytes promised, 7 sent.
  const r = await app.request("/verify", {
    method: "POST",
    body: stalled,
    headers: { "content-type": "application/json", "content-length": "1000" },
  });
  assertEquals(r.headers.get("connection"), "close");
  assertEquals(await answer(r), refusal("request_timeout"));
  assertEquals(cancelled, true, "the stalled body is cancelled, not left open");
});

Deno.test("uploads past the process's body budget are 503 overloaded with Retry-After: 1; the budget is given back", async () => {
  // A body's first 64 KiB are not charged; this one needs 2 MiB more, the budget holds 64 KiB.
  const budget = new BodyBudget(64 * 1024);
  const app = createApp({ verifier, bodyBudget: budget });
  const r = await app.request("/verify", {
    method: "POST",
    body: new Uint8Array(2 * 1024 * 1024).fill(0x20),
    headers: { "content-type": "application/json", "content-length": String(2 * 1024 * 1024) },
  });
  assertEquals([r.headers.get("retry-after"), r.headers.get("connection")], ["1", "close"]);
  assertEquals(await answer(r), refusal("overloaded"));
  assertEquals(budget.inUse(), 0);
  // A small body still fits.
  const ok = await app.request("/verify", { method: "POST", body: form({ a: digit, b: digit }) });
  assertEquals(await answer(ok), [200, "ok"]);
});

Deno.test("a model that failed to load: model routes answer 503 not_ready, naming the failure", async () => {
  const failed = Promise.reject(new Error("weights.bin: checksum mismatch"));
  const app = createApp({ verifier: failed });
  await failed.catch(() => {});
  await new Promise((r) => setTimeout(r, 0));
  const r = await app.request("/verify", { method: "POST", body: form({ a: digit, b: digit }) });
  const body = await r.clone().json();
  assertEquals(await answer(r), refusal("not_ready"));
  assertEquals(/checksum mismatch/.test(body.error.message), true, body.error.message);
  assertEquals((await app.request("/healthz")).status, 200);
});

Deno.test("with CORS origins and API keys set: a request without Origin is served, a preflight needs no key", async () => {
  const app = createApp({ verifier, corsOrigins: ["https://a.example"], apiKeys: ["k1"] });
  // curl (no Origin header): served with the key, no Access-Control-* header.
  const r = await app.request("/verify", {
    method: "POST",
    body: form({ a: digit, b: digit }),
    headers: { authorization: "Bearer k1" },
  });
  assertEquals([...r.headers.keys()].filter((k) => k.startsWith("access-control-")), []);
  assertEquals(await answer(r), [200, "ok"]);
  // A preflight from an origin not listed reaches the key check, which lets it pass: no 401.
  const pre = await app.request("/verify", {
    method: "OPTIONS",
    headers: { origin: "https://b.example", "access-control-request-method": "POST" },
  });
  assertEquals([pre.status === 401, pre.headers.get("www-authenticate")], [false, null]);
  await pre.body?.cancel();
  const noKey = await app.request("/verify", { method: "POST", body: form({ a: digit, b: digit }) });
  assertEquals(await answer(noKey), refusal("unauthorized"));
});

Deno.test("POST /embed counts its image's format in /metrics", async () => {
  const app = createApp({ verifier, metrics: new Metrics() });
  const r = await app.request("/embed", { method: "POST", body: form({ image: digit }) });
  assertEquals(await answer(r), [200, "ok"]);
  const text = await (await app.request("/metrics")).text();
  const line = text.split("\n").find((l) =>
    l.startsWith("verifier_images_decoded_total") && /format="png"/.test(l)
  );
  assertEquals(line?.split(" ").at(-1), "1");
});

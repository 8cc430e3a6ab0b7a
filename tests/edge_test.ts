// The request path through app.request(): every input form, every error code.
import { createApp, InFlight } from "../edge/app.ts";
import { useBackend } from "../shared/backend.ts";
import { STATUS } from "../edge/errors.ts";
import { bombPng, drawn, form, jpg, png, randomArtifact, randomVerifier } from "./fixtures.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { ArtifactError } from "../shared/artifact.ts";
import { SEED_MODEL } from "../shared/config.ts";
import { createVerifier } from "../edge/verifier.ts";

await useBackend("wasm");
const verifier = await randomVerifier();
const app = createApp({ verifier, maxBodyBytes: 256 * 1024 });

const seven = drawn(
  40,
  40,
  (x, y) =>
    (y >= 6 && y <= 9 && x >= 8 && x <= 32) || (Math.abs(x - (32 - (y - 9) * 0.6)) < 2.5 && y > 9 && y < 36),
);
const one = drawn(40, 40, (x, y) => Math.abs(x - 20) < 3 && y > 5 && y < 35);
const pixels = (v: number) => Array.from({ length: 784 }, (_, i) => (i % 29 === 0 ? v : 0));

const post = (body: BodyInit, headers: Record<string, string> = {}, path = "/verify") =>
  app.request(path, { method: "POST", body, headers });
const json = (o: unknown) => post(JSON.stringify(o), { "content-type": "application/json" });

async function expectError(res: Response | Promise<Response>, code: string) {
  const r = await res;
  const body = await r.json();
  assertEquals(
    [r.status, body.error?.code],
    [STATUS[code as keyof typeof STATUS], code],
    JSON.stringify(body),
  );
  assert(
    typeof body.error.message === "string" && !/\n\s+at /.test(body.error.message),
    "message with a stack",
  );
}

Deno.test("POST /verify multipart (curl -F a=@ -F b=@) answers same/probability/threshold/model/timing", async () => {
  const r = await post(form({ a: png(40, 40, seven), b: png(40, 40, one) }));
  assertEquals(r.status, 200);
  assert(r.headers.get("x-request-id"));
  const body = await r.json();
  assertEquals(Object.keys(body).sort(), ["model", "probability", "same", "threshold", "timing"]);
  assert(body.probability >= 0 && body.probability <= 1);
  assertEquals(body.same, body.probability > body.threshold);
  assertEquals(body.model.sha256, verifier.sha256);
  assert(body.timing.decode_ms >= 0 && body.timing.infer_ms >= 0);
});

Deno.test("POST /verify JSON: pixel arrays, base64, data: URL and JPEG give the model's answer", async () => {
  const direct = verifier.score(
    Float32Array.from(pixels(200), (v) => v / 255),
    Float32Array.from(pixels(90), (v) => v / 255),
  );
  const r1 = await (await json({ a: pixels(200), b: pixels(90) })).json();
  assertEquals(r1.probability, direct.probability);
  const r2 = await (await json({
    a: png(40, 40, seven).toBase64(),
    b: `data:image/png;base64,${png(40, 40, one).toBase64()}`,
  }))
    .json();
  const r3 = await (await post(form({ a: png(40, 40, seven), b: png(40, 40, one) }))).json();
  assertEquals(r2.probability, r3.probability);
  const r4 = await json({ a: `data:image/jpeg;base64,${jpg(40, 40, seven).toBase64()}`, b: pixels(90) });
  assertEquals(r4.status, 200);
});

Deno.test("POST /verify uses a client threshold when given", async () => {
  for (const t of [0, 1, 0.25]) {
    const body = await (await json({ a: pixels(200), b: pixels(90), threshold: t })).json();
    assertEquals([body.threshold, body.same], [t, body.probability > t]);
  }
  const m = await (await post(form({ a: png(40, 40, seven), b: png(40, 40, one), threshold: "0.9" }))).json();
  assertEquals(m.threshold, 0.9);
});

Deno.test("400s: malformed JSON/multipart, missing field, text for a file, duplicates, bad base64/pixels/threshold", async () => {
  await expectError(post("{nope", { "content-type": "application/json" }), "bad_request");
  await expectError(json([1, 2]), "bad_request");
  await expectError(json({ a: 5, b: pixels(1) }), "bad_request");
  const truncated = await post("--x\r\nbroken", { "content-type": "multipart/form-data; boundary=x" });
  assertEquals(truncated.status, 400);
  await expectError(post("a=1", { "content-type": "multipart/form-data" }), "bad_request");
  await expectError(json({ a: pixels(1) }), "missing_field");
  await expectError(json({ __proto__: pixels(1), a: pixels(1) }), "missing_field");
  await expectError(post(form({ a: png(40, 40, one) })), "missing_field");
  await expectError(post(form({ a: "text", b: png(40, 40, one) })), "bad_request");
  const dup = form({ a: png(40, 40, one), b: png(40, 40, one) });
  dup.append("a", new Blob([png(40, 40, one) as Uint8Array<ArrayBuffer>]));
  await expectError(post(dup), "bad_request");
  await expectError(json({ a: "!!notbase64!!", b: pixels(1) }), "bad_base64");
  await expectError(json({ a: "data:image/png,abc", b: pixels(1) }), "bad_base64");
  for (
    const bad of [
      pixels(1).slice(1),
      [...pixels(1), 0],
      [...pixels(1).slice(1), "3"],
      [...pixels(1).slice(1), -1],
      [...pixels(1).slice(1), 256],
      [...pixels(1).slice(1), null],
    ]
  ) {
    await expectError(json({ a: bad, b: pixels(1) }), "bad_pixels");
  }
  for (const t of [-0.1, 1.5, "x", [0.5]]) {
    await expectError(json({ a: pixels(1), b: pixels(1), threshold: t }), "bad_threshold");
  }
});

Deno.test("413s: body over the limit with and without Content-Length, image over the pixel limit", async () => {
  const big = new Uint8Array(300 * 1024);
  await expectError(
    post(big, { "content-type": "application/json", "content-length": String(big.length) }),
    "body_too_large",
  );
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(64 * 1024));
      c.close();
    },
  });
  await expectError(post(stream, { "content-type": "application/json" }), "body_too_large");
  // Refused from the header's declared size, before any decoding.
  const bomb = await post(form({ a: bombPng(), b: png(40, 40, one) }));
  assertEquals(bomb.status, 413);
  assert((await bomb.json()).error.message.includes("30000x30000"));
});

Deno.test("415s and 422s: content type, image format, undecodable and blank images", async () => {
  const p = png(40, 40, one);
  await expectError(post("a", { "content-type": "text/plain" }), "unsupported_media_type");
  await expectError(post("a"), "unsupported_media_type");
  await expectError(
    post(form({ a: new TextEncoder().encode("%PDF-1.7\n%\xe2\xe3\n1 0 obj"), b: png(40, 40, one) })),
    "unsupported_image_format",
  );
  await expectError(
    json({ a: "data:application/pdf;base64,JVBERi0xLjcK", b: pixels(1) }),
    "unsupported_image_format",
  );
  await expectError(
    post(form({ a: new TextEncoder().encode("GIF89a\x10\x00\x10\x00 truncated"), b: p })),
    "undecodable_image",
  );
  await expectError(post(form({ a: p.slice(0, p.length - 30), b: p })), "undecodable_image");
  await expectError(post(form({ a: bombPng(0, 10), b: p })), "undecodable_image");
  await expectError(post(form({ a: png(40, 40, new Uint8Array(1600).fill(255)), b: p })), "blank_image");
  await expectError(json({ a: pixels(0), b: pixels(1) }), "blank_image");
});

Deno.test("503 until the model is loaded, then 200; 404 JSON for unknown routes", async () => {
  let resolve!: (v: typeof verifier) => void;
  const pending = createApp({ verifier: new Promise((r) => (resolve = r)) });
  await expectError(pending.request("/readyz"), "not_ready");
  await expectError(
    pending.request("/verify", {
      method: "POST",
      body: JSON.stringify({ a: pixels(9), b: pixels(9) }),
      headers: { "content-type": "application/json" },
    }),
    "not_ready",
  );
  assertEquals((await pending.request("/healthz")).status, 200);
  resolve(verifier);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals((await pending.request("/readyz")).status, 200);
  await expectError(app.request("/nope"), "not_found");
});

Deno.test("/readyz holds a 503 while holdReadiness gives a reason (other isolates starting); /verify answers", async () => {
  let reason: string | undefined = "1 of 2 isolates listening";
  const held = createApp({ verifier, holdReadiness: () => reason });
  const r = await held.request("/readyz");
  assertEquals([r.status, (await r.json()).error.message], [503, "1 of 2 isolates listening"]);
  const v = await held.request("/verify", {
    method: "POST",
    body: form({ a: png(40, 40, seven), b: png(40, 40, one) }),
  });
  assertEquals(v.status, 200);
  await v.body?.cancel();
  reason = undefined;
  assertEquals((await held.request("/readyz")).status, 200);
});

Deno.test("POST /embed returns the embedding; GET / and /openapi.json describe the API", async () => {
  const r = await post(form({ image: png(40, 40, one) }), {}, "/embed");
  const body = await r.json();
  assertEquals([r.status, body.dims, body.embedding.length], [200, 500, 500]);
  assert((await (await app.request("/")).text()).includes("curl -F a=@one.png -F b=@two.png"));
  const spec = await (await app.request("/openapi.json")).json();
  assert(spec.paths["/verify"].post);
});

Deno.test("a model whose input is not the edge's 28x28 is refused at load, naming both sizes", async () => {
  const config = { ...SEED_MODEL, inputSize: 12 };
  const { modelJson, bin } = await randomArtifact(config);
  await assertRejects(
    () => createVerifier(JSON.stringify(modelJson), bin),
    (e: Error) => e instanceof ArtifactError && e.message.includes("12x12") && e.message.includes("28x28"),
  );
});

Deno.test("draining: new requests get 503 shutting_down in the one error shape; requests in flight are counted", async () => {
  const inFlight = new InFlight();
  const drained = createApp({ verifier, inFlight });
  const gate = Promise.withResolvers<void>();
  const slow = drained.request("/verify", await slowForm(gate.promise));
  // The slow request is counted once its body is being read (bounded: an uncounted one must fail, not hang).
  for (let waited = 0; inFlight.count === 0 && waited < 2000; waited++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assertEquals(inFlight.count, 1, "the request in flight is counted");
  inFlight.draining = true;
  const r = await drained.request("/healthz", { headers: { "x-request-id": "drain-1" } });
  const body = await r.json();
  assertEquals(
    [r.status, body.error.code, body.request_id, r.headers.get("connection"), r.headers.get("retry-after")],
    [503, "shutting_down", "drain-1", "close", "1"],
  );
  assertEquals(inFlight.count, 1);
  gate.resolve();
  assertEquals((await slow).status, 200);
  assertEquals(inFlight.count, 0);
});

/** A POST of two digits as multipart, whose body ends only when `until` resolves. */
async function slowForm(until: Promise<void>): Promise<RequestInit> {
  const f = new Response(form({ a: png(40, 40, seven), b: png(40, 40, one) }));
  const bytes = new Uint8Array(await f.arrayBuffer());
  const body = new ReadableStream<Uint8Array>({
    async start(ctl) {
      ctl.enqueue(bytes.subarray(0, 10));
      await until;
      ctl.enqueue(bytes.subarray(10));
      ctl.close();
    },
  });
  return { method: "POST", body, headers: { "content-type": f.headers.get("content-type")! } };
}

Deno.test("a fault of the server itself is a 500 internal without detail, logged with its request id", async () => {
  const broken = {
    ...verifier,
    score: () => {
      throw new TypeError("kernel exploded");
    },
  };
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    const r = await createApp({ verifier: broken }).request("/verify", {
      method: "POST",
      headers: { "x-request-id": "fault-1" },
      body: form({ a: png(40, 40, seven), b: png(40, 40, one) }),
    });
    const body = await r.json();
    assertEquals([r.status, body.error.code, body.error.message, body.request_id], [
      500,
      "internal",
      "Internal error",
      "fault-1",
    ]);
  } finally {
    console.error = original;
  }
  assert(String(logged[0]?.[0]).includes("fault-1"));
  assert(String(logged[0]?.[1]).includes("kernel exploded"));
});

Deno.test("a body that stalls without a Content-Length (chunked) is cut off at its deadline: 408", async () => {
  const quick = createApp({ verifier, bodyTimeoutMs: 200 });
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(new TextEncoder().encode('{"a": [0, 0'));
    },
  });
  const r = await quick.request("/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  assertEquals([r.status, (await r.json()).error.code, r.headers.get("connection")], [
    408,
    "request_timeout",
    "close",
  ]);
});

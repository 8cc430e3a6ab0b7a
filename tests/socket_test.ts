// Over a real loopback socket (Deno.serve in this process, the app with a
// random-weight verifier): a chunked upload (no Content-Length) past the body
// limit gets 413 body_too_large, and the same server then answers a valid
// multipart /verify. The real entry (`deno task serve`) with the shipped
// weights answering the README's curl form is tests/serve_test.ts's.
import { createApp } from "../edge/app.ts";
import { useBackend } from "../shared/backend.ts";
import { drawn, png, randomVerifier } from "./fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

await useBackend("wasm");

Deno.test("a chunked upload over the body limit gets 413 over a real socket; the server keeps serving", async () => {
  const app = createApp({ verifier: await randomVerifier(), maxBodyBytes: 64 * 1024 });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 1024 * 1024) return c.close();
        sent += 16 * 1024;
        c.enqueue(new Uint8Array(16 * 1024));
      },
    });
    const r = await fetch(`${base}/verify`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    assertEquals([r.status, (await r.json()).error.code], [413, "body_too_large"]);
    const f = new FormData();
    const one = png(30, 30, drawn(30, 30, (x, y) => Math.abs(x - 15) < 2 && y > 3 && y < 27));
    f.append("a", new Blob([one as Uint8Array<ArrayBuffer>]), "a.png");
    f.append("b", new Blob([one as Uint8Array<ArrayBuffer>]), "b.png");
    const ok = await fetch(`${base}/verify`, { method: "POST", body: f });
    assertEquals(ok.status, 200);
    assert(typeof (await ok.json()).probability === "number");
  } finally {
    await server.shutdown();
  }
});

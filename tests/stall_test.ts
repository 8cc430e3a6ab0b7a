// Slow and stalled clients against the real server over sockets: hundreds of
// uploads that send their headers and part of a large body, then stall,
// neither starve the requests that arrive whole (/healthz, a valid /verify)
// nor stay open: each is answered 503 overloaded at once (the upload budget is
// spent) or 408 request_timeout when its body's deadline passes.
import { spawnServer } from "../edge/spawn.ts";
import { stalledUploads, statusLine } from "../bench/loadgen.ts";
import { assert, assertEquals } from "./assert.ts";
import { digit, loadDataset } from "../train/data/mnist.ts";

Deno.test({
  name:
    "300 stalled uploads: /healthz and a valid /verify answer meanwhile; each stalled one gets 408 or 503",
  sanitizeResources: false,
  async fn() {
    const { child, base } = await spawnServer({
      env: { ISOLATES: "1", BODY_TIMEOUT_S: "3", MAX_UPLOADS_MB: "16", REQUEST_LOG: "off" },
    });
    try {
      const stalled = await stalledUploads(base, 300, 4 * 1024 * 1024, 256 * 1024);
      const health = await fetch(`${base}/healthz`);
      assertEquals(health.status, 200);
      await health.body?.cancel();
      const { test } = loadDataset();
      const pixels = (i: number) => Array.from(digit(test.images.pixels, i));
      const valid = await fetch(`${base}/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ a: pixels(0), b: pixels(1) }),
      });
      assertEquals(valid.status, 200);
      assert(typeof (await valid.json()).probability === "number");
      // Deno.serve's own limits on the request head, before the app: a plain 400.
      assertEquals(await rawStatus(base, `x-big: ${"x".repeat(64 * 1024)}\r\n`), "HTTP/1.1 400 Bad Request");
      // 127 lines + host + connection: 129 header lines, one more than it reads.
      const many = Array.from({ length: 127 }, (_, i) => `h${i}: v\r\n`).join("");
      assertEquals(await rawStatus(base, many), "HTTP/1.1 400 Bad Request");
      assertEquals(await rawStatus(base, `x-big: ${"x".repeat(32 * 1024)}\r\n`), "HTTP/1.1 200 OK");
      // The body deadline is 3 s: 30 s without an answer for every stalled upload is a failure, not a wait.
      let guard: ReturnType<typeof setTimeout> | undefined;
      const answers = await Promise.race([
        stalled.answers,
        new Promise<never>((_, reject) => {
          guard = setTimeout(() => reject(new Error("stalled uploads still open after 30 s")), 30_000);
        }),
      ]).finally(() => clearTimeout(guard));
      stalled.close();
      const count = (s: string) => answers.filter((a) => a.includes(s)).length;
      assertEquals(count(" 408 ") + count(" 503 "), 300, `answers: ${[...new Set(answers)].join(", ")}`);
      assert(count(" 503 ") > 0, "the budget (16 MiB) cannot hold 300 bodies of 256 KiB");
      assert(count(" 408 ") > 0, "uploads within the budget wait for their deadline");
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
  },
});

/** The status line a GET /healthz with `headers` (raw lines) is answered with. */
async function rawStatus(base: string, headers: string): Promise<string> {
  const { hostname, port } = new URL(base);
  const c = await Deno.connect({ hostname, port: Number(port) });
  try {
    await c.write(
      new TextEncoder().encode(`GET /healthz HTTP/1.1\r\nhost: x\r\n${headers}connection: close\r\n\r\n`),
    );
    return await statusLine(c);
  } finally {
    c.close();
  }
}

// The real entry (`deno task serve`) as a child process: it answers the
// README's curl form on the shipped weights, drains in-flight requests on
// SIGTERM and exits 0, and refuses to start on tampered or truncated weights.
import { assert, assertEquals } from "./assert.ts";
import { drawn, jpg, png } from "./fixtures.ts";
import { freePort, SERVE_READ, serveFlags, spawnServer } from "../edge/spawn.ts";

const MAIN = new URL("../edge/main.ts", import.meta.url).pathname;
const WEIGHTS = new URL("../weights/", import.meta.url).pathname;

/** Start without waiting for readiness (for entries that must refuse to start). */
function start(env: Record<string, string> = {}) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...serveFlags(`${SERVE_READ},${env.WEIGHTS_DIR ?? ""}`), MAIN],
    env: { PORT: String(port), HOST: "127.0.0.1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, base: `http://127.0.0.1:${port}` };
}

/** `p`, or an error naming `what` once `seconds` have passed. */
async function within<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Call `attempt` until it gives a value, for up to `seconds`; then an error naming `what`. */
async function poll<T>(seconds: number, what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    const v = await attempt();
    if (v !== undefined) return v;
  }
  throw new Error(`${what}: not within ${seconds.toFixed(1)} s`);
}

/** A child's output as it comes: `waitFor` a text in it, or `done` for all of it once the stream ends. */
function follow(stream: ReadableStream<Uint8Array>) {
  let text = "", ended = false, changed = Promise.withResolvers<void>();
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      changed.resolve();
      changed = Promise.withResolvers<void>();
    }
    ended = true;
    changed.resolve();
    return text;
  })();
  return {
    done,
    get text() {
      return text;
    },
    waitFor: (want: string, seconds = 30) =>
      within(
        (async () => {
          while (!text.includes(want)) {
            if (ended) throw new Error(`output ended without ${JSON.stringify(want)}: ${text}`);
            await changed.promise;
          }
        })(),
        seconds,
        `waiting for ${JSON.stringify(want)} in ${JSON.stringify(text)}`,
      ),
  };
}

/**
 * HTTP/1.1 over a raw connection, for what fetch() hides: `Expect:
 * 100-continue` (Deno's server answers 100 Continue as it hands the request
 * to the handler) and a body sent in parts at moments the test chooses.
 * `next()` reads the next response, an interim 1xx one included; a final
 * one is read to the end of its Content-Length.
 */
function rawHttp(conn: Deno.Conn) {
  let buf = "";
  const decoder = new TextDecoder();
  const more = async () => {
    const chunk = new Uint8Array(64 * 1024);
    const n = await conn.read(chunk);
    if (n === null) throw new Error(`connection closed; read ${JSON.stringify(buf)}`);
    buf += decoder.decode(chunk.subarray(0, n), { stream: true });
  };
  return {
    send: (data: string | Uint8Array) =>
      conn.write(typeof data === "string" ? new TextEncoder().encode(data) : data),
    async next() {
      while (!buf.includes("\r\n\r\n")) await more();
      const end = buf.indexOf("\r\n\r\n") + 4;
      const [statusLine, ...lines] = buf.slice(0, end - 4).split("\r\n");
      const headers = new Headers(
        lines.map((l): [string, string] => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
      );
      const status = Number(statusLine.split(" ")[1]);
      const length = status < 200 ? 0 : Number(headers.get("content-length"));
      assert(Number.isInteger(length), `no Content-Length: ${statusLine} ${[...headers]}`);
      while (buf.length < end + length) await more(); // all ASCII: characters are bytes
      const body = buf.slice(end, end + length);
      buf = buf.slice(end + length);
      return { status, headers, body };
    },
  };
}

Deno.test("the served entry (3 isolates) answers multipart /verify and drains an in-flight upload on SIGTERM", async () => {
  const { child, base } = await spawnServer({ stdout: "piped", stderr: "piped", env: { ISOLATES: "3" } });
  const out = follow(child.stdout), err = follow(child.stderr);
  let conn: Deno.Conn | undefined;
  let exited = false;
  try {
    const one = png(30, 30, drawn(30, 30, (x, y) => Math.abs(x - 15) < 2 && y > 3 && y < 27));
    const f = new FormData();
    f.append("a", new Blob([one as Uint8Array<ArrayBuffer>]), "a.png");
    f.append("b", new Blob([one as Uint8Array<ArrayBuffer>]), "b.png");
    const quick = await fetch(`${base}/verify`, { method: "POST", body: f });
    assertEquals(quick.status, 200);
    await quick.body?.cancel();
    // /readyz, which spawnServer waited for, holds 503 until every isolate
    // listens; new connections spread over them: ask until all three answer.
    const seen = new Set<string>();
    await poll(30, "three isolates answering /readyz", async () => {
      const client = Deno.createHttpClient({});
      const r = await fetch(`${base}/readyz`, { client }).catch(() => undefined);
      if (r?.ok) seen.add((await r.json()).memory.isolate);
      else await r?.body?.cancel();
      client.close();
      return seen.size === 3 || undefined;
    }).catch((e) => {
      throw new Error(`${(e as Error).message} (seen: ${[...seen]})`);
    });

    // An upload in flight: the server has taken it (100 Continue) and has its
    // first half when SIGTERM comes; its second half is sent only once a new
    // request has been answered 503 (or the wait for that has given up).
    const bytes = new TextEncoder().encode(JSON.stringify({
      a: Array(784).fill(0).map((_, i) => (i % 7 ? 0 : 200)),
      b: Array(784).fill(0).map((_, i) => (i % 5 ? 0 : 255)),
    }));
    const half = bytes.length >> 1;
    conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
    const upload = rawHttp(conn);
    await upload.send(
      `POST /verify HTTP/1.1\r\nhost: ${new URL(base).host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${bytes.length}\r\nexpect: 100-continue\r\n\r\n`,
    );
    assertEquals((await within(upload.next(), 30, "100 Continue")).status, 100);
    await upload.send(bytes.subarray(0, half));

    child.kill("SIGTERM");
    const sigterm = performance.now();
    await out.waitFor("SIGTERM: draining 3 isolate(s)");
    // Every isolate is told to drain; a new connection may still reach one
    // that has not heard yet (200): ask until the answer is the drain's 503.
    // The drain waits 4.5 s at most for requests in flight (edge/server.ts),
    // so the asking stops 3 s after SIGTERM, leaving the upload time to end
    // inside it; the 503 is checked after the upload's answer, so that a
    // missing 503 and a cut upload each fail under their own name.
    const asking = 3 - (performance.now() - sigterm) / 1000;
    const late = await poll(asking, "a new request answered 503 while draining", async () => {
      const client = Deno.createHttpClient({});
      const r = await fetch(`${base}/healthz`, { client }).catch(() => undefined);
      const body = r && (await r.json());
      client.close();
      return r?.status === 503 ? { r, body } : undefined;
    }).catch((e: Error) => e);

    await upload.send(bytes.subarray(half));
    const r = await within(upload.next(), 30, "the in-flight upload's answer").catch((e) => {
      throw new Error(`${(e as Error).message}\nserver stderr: ${err.text}`);
    });
    const answered = performance.now();
    assertEquals(r.status, 200, `${r.body}\nserver stderr: ${err.text}`);
    assert(typeof JSON.parse(r.body).probability === "number", r.body);
    if (late instanceof Error) throw late;
    assertEquals(late.body.error.code, "shutting_down");
    assert(
      typeof late.body.request_id === "string" && late.body.request_id === late.r.headers.get("x-request-id"),
    );
    const status = await within(child.status, 30, "exit after the drain");
    exited = true;
    assertEquals(status.code, 0, err.text);
    // Not at the drain's deadline (4.5 s): once the last request is answered.
    const ms = performance.now() - answered;
    assert(ms < 4000, `exited ${ms} ms after the in-flight upload was answered`);
    await fetch(`${base}/healthz`).then(() => assert(false, "still accepting"), () => {});
    const log = await out.done;
    assert(log.includes("3 isolates") && log.includes("draining 3 isolate(s)"), log);
  } finally {
    conn?.close();
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await child.status;
    }
    await Promise.all([out.done, err.done]);
  }
});

for (
  const [name, damage] of [
    ["one flipped byte", (b: Uint8Array) => (b[100] ^= 0x01, b)],
    ["a truncated file", (b: Uint8Array) => b.subarray(0, b.length - 10)],
  ] as const
) {
  Deno.test(`the served entry refuses to start on weights with ${name}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.copyFile(`${WEIGHTS}/model.json`, `${dir}/model.json`);
      await Deno.writeFile(`${dir}/weights.bin`, damage(await Deno.readFile(`${WEIGHTS}/weights.bin`)));
      const { child } = start({ WEIGHTS_DIR: dir });
      const out = await child.output();
      const err = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1);
      assert(/Refusing to start: Refusing weights "weights.bin": (SHA-256|\d+ bytes)/.test(err), err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

const HEIC = Deno.readFileSync(new URL("./images/seven.heic", import.meta.url));
const modules = ["weights", "node_modules", "edge/page"].map((p) =>
  new URL(`../${p}`, import.meta.url).pathname
);
for (
  const [name, opts, decoder] of [
    ["the serve task's permissions (native libvips, HEIC on a worker)", {}, "native"],
    ["no FFI permission (sharp's WebAssembly build, as where no native build exists)", {
      ffi: false,
      read: "/",
    }, "wasm32"],
    ["no read access to its modules (no HEIC worker: inline)", {
      read: [...modules, "/usr/bin/ldd"].join(","),
    }, "native"],
  ] as const
) {
  Deno.test(`a large JPEG pair and a HEIC are answered with ${name}`, async () => {
    const { child, base } = await spawnServer({ ...opts, stderr: "piped" });
    try {
      assertEquals((await (await fetch(`${base}/readyz`)).json()).decoder, decoder);
      const page = drawn(400, 300, (x, y) => Math.abs(x - 200) < 12 && y > 30 && y < 270);
      const big = jpg(400, 300, page.map((v, i) => Math.max(0, v - ((i * 7919) % 23))), 95);
      for (const [a, b] of [[big, big], [HEIC, HEIC]]) {
        const f = new FormData();
        f.append("a", new Blob([a as Uint8Array<ArrayBuffer>]), "a");
        f.append("b", new Blob([b as Uint8Array<ArrayBuffer>]), "b");
        const r = await fetch(`${base}/verify`, { method: "POST", body: f });
        const body = await r.json();
        assertEquals(r.status, 200, JSON.stringify(body));
        assert(body.probability > 0.5, `same image, p=${body.probability}`);
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
    }
  });
}

Deno.test("`deno task serve` runs with the same flags the tests spawn the server with (serveFlags)", () => {
  const task = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks.serve;
  const root = new URL("..", import.meta.url).pathname;
  const flags = serveFlags().map((f) => f.replaceAll(root, ""));
  assertEquals(task, `deno run ${flags.join(" ")} edge/main.ts`);
});

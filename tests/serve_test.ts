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

Deno.test("the served entry (3 isolates) answers multipart /verify and drains an in-flight upload on SIGTERM", async () => {
  const { child, base } = await spawnServer({ stdout: "piped", stderr: "piped", env: { ISOLATES: "3" } });
  const one = png(30, 30, drawn(30, 30, (x, y) => Math.abs(x - 15) < 2 && y > 3 && y < 27));
  const f = new FormData();
  f.append("a", new Blob([one as Uint8Array<ArrayBuffer>]), "a.png");
  f.append("b", new Blob([one as Uint8Array<ArrayBuffer>]), "b.png");
  const quick = await fetch(`${base}/verify`, { method: "POST", body: f });
  assertEquals(quick.status, 200);
  await quick.body?.cancel();
  // The other isolates start after that first answer: wait until all three
  // have answered (a new connection each time, so that they spread).
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 3; i++) {
    const client = Deno.createHttpClient({});
    const r = await fetch(`${base}/readyz`, { client }).catch(() => undefined);
    if (r?.ok) seen.add((await r.json()).memory.isolate);
    else await r?.body?.cancel();
    client.close();
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(seen.size, 3, `isolates that answered: ${[...seen]}`);

  // A slow upload: its first half is sent, then SIGTERM, then the rest.
  const body = JSON.stringify({
    a: Array(784).fill(0).map((_, i) => (i % 7 ? 0 : 200)),
    b: Array(784).fill(0).map((_, i) => (i % 5 ? 0 : 255)),
  });
  const bytes = new TextEncoder().encode(body);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent >= bytes.length) return c.close();
      if (sent > 0) await new Promise((r) => setTimeout(r, 300));
      const end = sent === 0 ? bytes.length >> 1 : bytes.length;
      c.enqueue(bytes.subarray(sent, end));
      sent = end;
    },
  });
  const inflight = fetch(`${base}/verify`, {
    method: "POST",
    body: stream,
    headers: { "content-type": "application/json" },
    duplex: "half",
  } as RequestInit);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 50));
  const late = await fetch(`${base}/healthz`);
  const lateBody = await late.json();
  assertEquals([late.status, lateBody.error.code], [503, "shutting_down"]);
  assert(typeof lateBody.request_id === "string" && lateBody.request_id === late.headers.get("x-request-id"));
  const r = await inflight;
  if (r.status !== 200) console.error(new TextDecoder().decode((await child.output()).stderr));
  assertEquals(r.status, 200);
  assert(typeof (await r.json()).probability === "number");
  const status = await child.status;
  assertEquals(status.code, 0);
  assert(performance.now() - t0 < 5000);
  await fetch(`${base}/healthz`).then(() => assert(false, "still accepting"), () => {});
  const log = await new Response(child.stdout).text();
  assert(log.includes("3 isolates") && log.includes("draining 3 isolate(s)"), log);
  await child.stderr.cancel();
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

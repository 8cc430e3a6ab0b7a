// deno task bench:isolates: the ways to serve on every core, side by side on
// JSON /verify at concurrency 32 (autocannon, 10 s rounds, alternating): one
// isolate, edge/main.ts's isolates (ISOLATES = cores), `deno serve
// --parallel edge/serve.ts`, our isolates with the request log off (metrics
// cannot be turned off: they are counters), and without the serve task's cap
// on V8's young generation; then, for edge/main.ts's isolates and `deno serve`,
// what becomes of an upload in flight when SIGTERM arrives.
import { digit, loadDataset } from "../train/data/mnist.ts";
import { machine } from "./machine.ts";
import { cannon, type Run, statusLine } from "./loadgen.ts";
import * as spawn from "../edge/spawn.ts";
import { median } from "./stats.ts";

console.log(`machine: ${await machine()}`);
const { test } = loadDataset();
const body = JSON.stringify({
  a: Array.from(digit(test.images.pixels, 0)),
  b: Array.from(digit(test.images.pixels, 1)),
});
const cores = navigator.hardwareConcurrency;

/** `deno serve --parallel` on the app's `deno serve` entry, ready when /readyz answers. */
async function denoServe(): Promise<spawn.Spawned> {
  const port = spawn.freePort(), base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--parallel",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      ...spawn.serveFlags(),
      "edge/serve.ts",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await spawn.waitUntilOk(child, `${base}/readyz`, "deno serve");
  return { child, base };
}

const servers: Record<string, () => Promise<spawn.Spawned>> = {
  "edge/main.ts, 1 isolate": () => spawn.spawnServer({ env: { ISOLATES: "1" } }),
  [`edge/main.ts, ${cores} isolates`]: () => spawn.spawnServer({ env: { ISOLATES: String(cores) } }),
  [`deno serve --parallel (${cores} isolates)`]: denoServe,
  [`edge/main.ts, ${cores} isolates, request log off (REQUEST_LOG=off)`]: () =>
    spawn.spawnServer({ env: { ISOLATES: String(cores), REQUEST_LOG: "off" } }),
  [`edge/main.ts, ${cores} isolates, V8's default young generation (no ${spawn.YOUNG_GENERATION_CAP})`]: () =>
    spawn.spawnServer({
      env: { ISOLATES: String(cores) },
      flags: spawn.serveFlags().filter((f) => f !== spawn.YOUNG_GENERATION_CAP),
    }),
};
const runs: Record<string, Run[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, start] of Object.entries(servers)) {
    const { child, base } = await start();
    (runs[name] ??= []).push(
      await cannon(`${base}/verify`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      }),
    );
    child.kill("SIGKILL");
    await child.status;
  }
}
for (const [name, rs] of Object.entries(runs)) {
  console.log(
    `JSON /verify, concurrency 32, ${name}: ${median(rs.map((r) => r.rps)).toFixed(0)} requests/s (rounds ${
      rs.map((r) => r.rps.toFixed(0)).join(", ")
    }), p99 ${median(rs.map((r) => r.p99))} ms`,
  );
}

/** Send half a body, SIGTERM the server, send the rest: the status line it answers. */
async function uploadAcrossSigterm({ child, base }: spawn.Spawned): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
  const enc = new TextEncoder(), bytes = enc.encode(body);
  await conn.write(enc.encode(
    `POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`,
  ));
  await conn.write(bytes.subarray(0, bytes.length >> 1));
  await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  const answer = await conn.write(bytes.subarray(bytes.length >> 1)).then(
    () => statusLine(conn, "connection closed"),
    (e) => `write failed: ${e.message}`,
  );
  conn.close();
  await child.status;
  return answer;
}
for (const name of Object.keys(servers).slice(1, 3)) {
  console.log(`upload in flight at SIGTERM, ${name}: ${await uploadAcrossSigterm(await servers[name]())}`);
}

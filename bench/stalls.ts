// deno task bench:stalls: the real server (edge/main.ts, default isolates)
// while hundreds of uploads stall. Each stalled connection sends the headers
// of a 4 MB multipart POST /verify and then either nothing or 256 KiB of its
// body, and no more. Meanwhile: how long GET /healthz and a valid JSON
// /verify take from connect (a new connection each time), the server's RSS,
// and what the stalled uploads are answered (408 at the body's deadline,
// BODY_TIMEOUT_S=10 here; 503 when the upload budget is spent). Medians and
// p99s; the machine first.
import { spawnServer } from "../edge/spawn.ts";
import { stalledUploads } from "./loadgen.ts";
import { machine, rssMiB } from "./machine.ts";
import { median, quantile } from "./stats.ts";
import { digit, loadDataset } from "../train/data/mnist.ts";

console.log(`machine: ${await machine()}`);
const { test } = loadDataset();
const verify: RequestInit = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    a: Array.from(digit(test.images.pixels, 0)),
    b: Array.from(digit(test.images.pixels, 1)),
  }),
};

/** Milliseconds from connect to the whole answer, on a fresh connection. */
async function fromConnect(url: string, init?: RequestInit): Promise<number> {
  const client = Deno.createHttpClient({});
  const t0 = performance.now();
  const r = await fetch(url, { ...init, client });
  await r.arrayBuffer();
  client.close();
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return performance.now() - t0;
}

const ms = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms`;

for (const [n, sent] of [[300, 0], [800, 0], [300, 256 * 1024], [800, 256 * 1024]]) {
  const { child, base } = await spawnServer({ env: { BODY_TIMEOUT_S: "10", REQUEST_LOG: "off" } });
  const idle = { health: [] as number[], verify: [] as number[] };
  for (let i = 0; i < 20; i++) {
    idle.health.push(await fromConnect(`${base}/healthz`));
    idle.verify.push(await fromConnect(`${base}/verify`, verify));
  }
  const t0 = performance.now();
  const stalled = await stalledUploads(base, n, 4 * 1024 * 1024, sent);
  const opened = performance.now() - t0;
  const busy = { health: [] as number[], verify: [] as number[] };
  for (let i = 0; i < 20; i++) {
    busy.health.push(await fromConnect(`${base}/healthz`));
    busy.verify.push(await fromConnect(`${base}/verify`, verify));
  }
  const rss = await rssMiB(child.pid);
  const answers = await stalled.answers;
  const waited = (performance.now() - t0) / 1000;
  stalled.close();
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  console.log(
    `${n} stalled uploads (4 MB declared, ${sent / 1024} KiB sent; opened in ${opened.toFixed(0)} ms):\n` +
      `  GET /healthz from connect: idle ${ms(idle.health)}; stalled ${ms(busy.health)}\n` +
      `  valid JSON /verify from connect: idle ${ms(idle.verify)}; stalled ${ms(busy.verify)}\n` +
      `  server RSS while stalled ${rss.toFixed(0)} MiB; all stalled uploads answered within ${
        waited.toFixed(1)
      } s: ${[...counts].map(([a, k]) => `${k} x "${a}"`).join(", ")}`,
  );
  child.kill("SIGTERM");
  await child.status;
}

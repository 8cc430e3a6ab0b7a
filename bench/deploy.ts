// deno task bench:deploy: one instance as Deno Deploy runs it (edge/main.ts,
// --allow-all and no other flag, one isolate), on the Deno that Deploy
// documents (DEPLOY_DENO, from npm) and on this one: cold start (spawn ->
// first /verify answer, 5 times) and RSS after 1,000 and 10,000 requests
// (JSON arrays and 28x28 PNGs alternating, a bad request every 10th, 8
// connections). Prints medians and the machine.
import { digit, digitPng, loadDataset } from "../train/data/mnist.ts";
import { machine, rssMiB } from "./machine.ts";
import { FORM_TYPE, pngForm, sendRange } from "./loadgen.ts";
import { denoFromNpm, DEPLOY_DENO, spawnAsDeploy } from "../edge/spawn.ts";
import { median } from "./stats.ts";

console.log(`machine: ${await machine()}`);
const { test } = loadDataset();
const [a, b] = [digit(test.images.pixels, 0), digit(test.images.pixels, 1)];
const json = JSON.stringify({ a: Array.from(a), b: Array.from(b) });
const form = new Uint8Array(pngForm({ a: digitPng(a), b: digitPng(b) }));
const post = (base: string, body: BodyInit, type: string) =>
  fetch(`${base}/verify`, { method: "POST", body, headers: { "content-type": type } });

for (
  const [name, deno] of [[`Deno ${DEPLOY_DENO}`, await denoFromNpm(DEPLOY_DENO)], [
    `Deno ${Deno.version.deno}`,
    Deno.execPath(),
  ]]
) {
  const colds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const { child, base } = await spawnAsDeploy(deno, { REQUEST_LOG: "off" }, false);
    for (;;) { // Deploy routes the first request straight to the starting instance
      const r = await post(base, json, "application/json").catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    colds.push(performance.now() - t0);
    child.kill("SIGKILL");
    await child.status;
  }
  console.log(
    `${name}, as Deploy runs it: cold start (spawn -> first /verify answer) median ${
      median(colds).toFixed(0)
    } ms (${colds.map((c) => c.toFixed(0)).join(", ")})`,
  );
  const { child, base } = await spawnAsDeploy(deno);
  const send = (k: number) =>
    k % 10 === 0
      ? post(base, '{"a": [1, 2], "b": "x"}', "application/json")
      : k % 2
      ? post(base, form, FORM_TYPE)
      : post(base, json, "application/json");
  await sendRange(0, 1000, send);
  const r1 = await rssMiB(child.pid);
  await sendRange(1000, 10_000, send);
  const r10 = await rssMiB(child.pid);
  console.log(
    `${name}, as Deploy runs it (request log on): RSS ${r1.toFixed(1)} MiB after 1,000 requests, ${
      r10.toFixed(1)
    } MiB after 10,000 (${(100 * (r10 / r1 - 1)).toFixed(1)}%)`,
  );
  child.kill("SIGTERM");
  await child.status;
}

// deno task load [seconds] [connections]: start the real server (edge/main.ts)
// and drive it over loopback with autocannon: a mix of valid requests (JSON
// pixel arrays, multipart PNGs) and invalid ones (bad JSON, wrong pixel count,
// unsupported type, blank image), 64 connections for 60 s by default. Prints
// requests/s, latency p50/p99, responses by status, errors, and RSS.
import autocannon from "autocannon";
import { FORM_TYPE, pngForm } from "./loadgen.ts";
import { digit, digitPng, loadDataset } from "../train/data/mnist.ts";
import { machine, rssMiB } from "./machine.ts";
import { PIXELS } from "../shared/preprocess.ts";
import { spawnServer } from "../edge/spawn.ts";

const seconds = Number(Deno.args[0] ?? 60), connections = Number(Deno.args[1] ?? 64);
console.log(`machine: ${await machine()}`);
const { test } = loadDataset();
const pixels = (i: number) => Array.from(digit(test.images.pixels, i));
const png = (i: number) => digitPng(digit(test.images.pixels, i));
const json = { "content-type": "application/json" };
const requests = [
  { method: "POST", path: "/verify", headers: json, body: JSON.stringify({ a: pixels(0), b: pixels(1) }) },
  {
    method: "POST",
    path: "/verify",
    headers: { "content-type": FORM_TYPE },
    body: pngForm({ a: png(2), b: png(3) }),
  },
  { method: "POST", path: "/verify", headers: json, body: JSON.stringify({ a: pixels(4), b: pixels(4) }) },
  { method: "POST", path: "/verify", headers: json, body: "{not json" },
  {
    method: "POST",
    path: "/verify",
    headers: json,
    body: JSON.stringify({ a: pixels(0).slice(1), b: pixels(1) }),
  },
  { method: "POST", path: "/verify", headers: { "content-type": "text/plain" }, body: "hello" },
  {
    method: "POST",
    path: "/verify",
    headers: json,
    body: JSON.stringify({ a: new Array(PIXELS).fill(0), b: pixels(1) }),
  },
  { method: "GET", path: "/healthz" },
] as const;

const { child, base } = await spawnServer();
const rssStart = await rssMiB(child.pid);
// deno-lint-ignore no-explicit-any
const result: any = await autocannon({
  url: base,
  connections,
  duration: seconds,
  requests: requests as unknown as autocannon.Request[],
});
const rssEnd = await rssMiB(child.pid);
child.kill("SIGTERM");
const exit = await child.status;

const statuses = Object.entries(result.statusCodeStats ?? {}).map(([k, v]) =>
  `${k}: ${(v as { count: number }).count}`
);
console.log(
  `${connections} connections, ${seconds} s, ${requests.length} request kinds in rotation (3 valid, 4 invalid, healthz)`,
);
console.log(`requests/s: mean ${result.requests.average.toFixed(0)}, total ${result.requests.total}`);
console.log(
  `latency: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
);
console.log(
  `responses by status: ${statuses.join(", ")}; 5xx ${
    result["5xx"]
  }; socket errors ${result.errors}; timeouts ${result.timeouts}`,
);
console.log(
  `RSS: ${rssStart.toFixed(1)} MiB at start, ${rssEnd.toFixed(1)} MiB at end (${
    (100 * (rssEnd / rssStart - 1)).toFixed(1)
  }%)`,
);
console.log(`server exit after SIGTERM: ${exit.code}`);

// deno task serve: the verifier on http://localhost:$PORT (default 8000), one
// isolate per core (ISOLATES overrides; 1 on Deno Deploy, which scales
// isolates itself). This isolate serves too and owns the signals; the others
// are Web Workers (edge/isolate.ts) listening on the same port. Refuses to
// start on weights that fail verification; on SIGINT/SIGTERM every isolate
// drains (new requests get 503, requests in flight finish), then it exits 0.
import { listenFromEnv, startServer, uploadBudgetFromEnv, weightsFromEnv } from "./server.ts";
import { Metrics } from "./metrics.ts";
import { BodyBudget } from "./body.ts";

const onDeploy = Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
const isolates = Math.max(
  1,
  Number(Deno.env.get("ISOLATES") ?? (onDeploy ? 1 : navigator.hardwareConcurrency)) || 1,
);
const listen = { ...listenFromEnv(), dir: weightsFromEnv(), reusePort: isolates > 1 };

// /readyz answers 503 until every isolate listens: a load balancer that waits
// for it opens its connections once all isolates can take them (a
// connection stays with the isolate that accepted it).
let started = 1; // isolates listening, or that failed to start (logged)
const holdReadiness = () =>
  started < isolates ? `${started} of ${isolates} isolates listening; the others are starting` : undefined;

// One set of counters for every isolate (edge/metrics.ts): /metrics counts the whole process.
const metrics = new Metrics();
// One budget for the bodies being read at once, drawn on by every isolate (edge/body.ts).
const bodyBudget = new BodyBudget(uploadBudgetFromEnv());

let server;
try {
  server = await startServer({ ...listen, holdReadiness, metrics, isolates, bodyBudget });
} catch (e) {
  console.error(`Refusing to start: ${(e as Error).message}`);
  Deno.exit(1);
}
const v = server.verifier;
console.log(
  `model ${v.version} loaded (threshold ${
    v.threshold.toFixed(4)
  }); listening on ${listen.hostname}:${listen.port}`,
);

/** A worker isolate: resolves when it has drained and closed its listener. */
function worker(i: number) {
  const w = new Worker(new URL("./isolate.ts", import.meta.url), { type: "module", name: `isolate-${i}` });
  w.postMessage({
    ...listen,
    dir: listen.dir?.href,
    metrics: metrics.buffer,
    isolates,
    uploads: { buffer: bodyBudget.buffer, maxBytes: bodyBudget.maxBytes },
  });
  const closed = new Promise<void>((resolve) => {
    w.onmessage = (e) => {
      if (e.data === "listening") started++;
      else if (e.data === "closed") resolve();
      else if (e.data?.failed) {
        started++;
        console.error(`isolate ${i} failed to start: ${e.data.failed}`);
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      started++;
      console.error(`isolate ${i}: ${e.message}`);
      resolve();
    };
  });
  return { drain: () => (w.postMessage("drain"), closed) };
}
// The other isolates start once this one has answered its first request (or
// after a second): on a cold start, the request that woke the process does
// not share the cores with their loading.
let workers: ReturnType<typeof worker>[] = [];
let draining = false;
if (isolates > 1) {
  const start = () => {
    if (draining || workers.length) return;
    workers = Array.from({ length: isolates - 1 }, (_, i) => worker(i + 1));
    console.log(`${isolates} isolates`);
  };
  // A timer, not the promise's own turn: the answer is still being written then.
  server.answered.then(() => setTimeout(start, 0));
  setTimeout(start, 1000);
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    if (draining) return;
    draining = true;
    console.log(`${sig}: draining ${workers.length + 1} isolate(s)`);
    await Promise.all([server.drain(), ...workers.map((w) => w.drain())]);
    Deno.exit(0);
  });
}

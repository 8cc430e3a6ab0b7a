// One more serving isolate (a Web Worker started by edge/main.ts): loads the
// model itself, listens on the shared port, drains when told to.
import { startServer } from "./server.ts";
import { Metrics } from "./metrics.ts";
import { BodyBudget } from "./body.ts";

const self_ = self as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(m: unknown): void;
};
let server: Promise<Awaited<ReturnType<typeof startServer>> | undefined> | undefined;
self_.onmessage = async (e) => {
  if (e.data === "drain") {
    // Told to drain while still loading: finish starting, then drain.
    await (await server)?.drain();
    self_.postMessage("closed");
    return;
  }
  const { metrics, isolates, uploads, ...listen } = e.data as {
    port: number;
    hostname: string;
    reusePort: boolean;
    dir?: string;
    metrics: SharedArrayBuffer;
    isolates: number;
    uploads: { buffer: SharedArrayBuffer; maxBytes: number };
  };
  server = startServer({
    ...listen,
    dir: listen.dir ? new URL(listen.dir) : undefined,
    metrics: new Metrics(metrics),
    isolates,
    bodyBudget: new BodyBudget(uploads.maxBytes, uploads.buffer),
  }).then((s) => {
    self_.postMessage("listening");
    return s;
  }, (err) => {
    self_.postMessage({ failed: (err as Error).message });
    return undefined;
  });
};

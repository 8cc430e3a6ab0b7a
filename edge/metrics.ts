// Prometheus metrics for the whole process: every isolate adds to the same
// counters, held in one SharedArrayBuffer (edge/main.ts makes it and hands it
// to each worker isolate), so a scrape that lands on any isolate reads the
// totals. prom-client and @hono/prometheus keep a registry per isolate (and
// bring in Deno's Node compatibility layer, ~70 ms of cold start), so they
// cannot give whole-process counts here; the text format is small enough
// to write (https://prometheus.io/docs/instrumenting/exposition_formats/).
import { FORMATS } from "../shared/format.ts";

/** Route labels: the API's routes, the static files as one, anything else as "other". */
export const ROUTES = [
  "/verify",
  "/embed",
  "/healthz",
  "/readyz",
  "/metrics",
  "/openapi.json",
  "static",
  "other",
];
const STATUSES = [200, 204, 304, 400, 401, 404, 405, 413, 415, 422, 500, 503];
/** Upper bounds of the latency buckets, in ms. */
const BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];
const PHASES = ["decode", "inference", "total"] as const;
const IMAGE_KINDS = [...FORMATS, "array"];

// Layout of the counters (BigInt64, so sums of microseconds cannot overflow).
const REQ = 0; // [route][status + "other"]
const HIST = REQ + ROUTES.length * (STATUSES.length + 1); // [phase][route][bucket..., +Inf, sum_us]
const PER_HIST = BUCKETS.length + 2;
const IMAGES = HIST + PHASES.length * ROUTES.length * PER_HIST; // [kind]
const SLOTS = IMAGES + IMAGE_KINDS.length;

export type Phase = (typeof PHASES)[number];

export class Metrics {
  private readonly c: BigInt64Array;

  /** Counters over `buffer` (from another isolate's `buffer`), or a new zeroed buffer. */
  constructor(readonly buffer = new SharedArrayBuffer(SLOTS * 8)) {
    this.c = new BigInt64Array(buffer);
  }

  private add(i: number, n = 1n) {
    Atomics.add(this.c, i, n);
  }

  /** Count one answered request. */
  request(route: string, status: number) {
    const r = Math.max(0, ROUTES.indexOf(route)), s = STATUSES.indexOf(status);
    this.add(REQ + r * (STATUSES.length + 1) + (s < 0 ? STATUSES.length : s));
  }

  /** Record how long a phase of a request on `route` took. */
  observe(phase: Phase, route: string, ms: number) {
    const at = HIST + (PHASES.indexOf(phase) * ROUTES.length + Math.max(0, ROUTES.indexOf(route))) * PER_HIST;
    const b = BUCKETS.findIndex((le) => ms <= le);
    this.add(at + (b < 0 ? BUCKETS.length : b));
    this.add(at + BUCKETS.length + 1, BigInt(Math.round(ms * 1000)));
  }

  /** Count one image decoded, by its format ("array" for pixel arrays). */
  image(kind: string) {
    const k = IMAGE_KINDS.indexOf(kind);
    if (k >= 0) this.add(IMAGES + k);
  }

  /** The Prometheus text exposition of every counter, with the model's version as a label. */
  render(model: { version: string; sha256: string }, isolates: number): string {
    const v = (i: number) => Atomics.load(this.c, i);
    const m = `model="${model.version}"`;
    const out = [
      "# HELP verifier_model_info The model this process serves.",
      "# TYPE verifier_model_info gauge",
      `verifier_model_info{${m},sha256="${model.sha256}"} 1`,
      "# HELP verifier_isolates Isolates serving in this process.",
      "# TYPE verifier_isolates gauge",
      `verifier_isolates ${isolates}`,
      "# HELP verifier_requests_total Requests answered, by route and status, across all isolates.",
      "# TYPE verifier_requests_total counter",
    ];
    ROUTES.forEach((route, r) => {
      [...STATUSES, "other"].forEach((status, s) => {
        const n = v(REQ + r * (STATUSES.length + 1) + s);
        if (n) out.push(`verifier_requests_total{${m},route="${route}",status="${status}"} ${n}`);
      });
    });
    for (const phase of PHASES) {
      const name = `verifier_${phase}_duration_seconds`;
      out.push(
        `# HELP ${name} Time spent ${
          phase === "total" ? "answering a request" : `in ${phase}`
        }, by route, across all isolates.`,
        `# TYPE ${name} histogram`,
      );
      ROUTES.forEach((route, r) => {
        const at = HIST + (PHASES.indexOf(phase) * ROUTES.length + r) * PER_HIST;
        let cum = 0n;
        const lines = BUCKETS.map((le, b) => {
          cum += v(at + b);
          return `${name}_bucket{${m},route="${route}",le="${le / 1000}"} ${cum}`;
        });
        const count = cum + v(at + BUCKETS.length);
        if (count === 0n) return;
        out.push(
          ...lines,
          `${name}_bucket{${m},route="${route}",le="+Inf"} ${count}`,
          `${name}_sum{${m},route="${route}"} ${Number(v(at + BUCKETS.length + 1)) / 1e6}`,
          `${name}_count{${m},route="${route}"} ${count}`,
        );
      });
    }
    out.push(
      "# HELP verifier_images_decoded_total Images read, by format (array: 28x28 pixel arrays).",
      "# TYPE verifier_images_decoded_total counter",
      ...IMAGE_KINDS.map((k, i) => `verifier_images_decoded_total{${m},format="${k}"} ${v(IMAGES + i)}`),
    );
    return out.join("\n") + "\n";
  }
}

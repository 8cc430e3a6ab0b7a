// deno task serve: the verifier on http://localhost:$PORT (default 8000).
// Refuses to start on weights that fail verification; on SIGINT/SIGTERM stops
// accepting connections, lets in-flight requests finish, exits 0.
import { buildApp, WEIGHTS_DIR } from "./server.ts";
import { STATUS } from "./errors.ts";

// WEIGHTS_DIR (a directory path) overrides the shipped weights.
const dir = Deno.env.get("WEIGHTS_DIR");
const { app, verifier } = buildApp(dir ? new URL(`file://${Deno.realPathSync(dir)}/`) : WEIGHTS_DIR);
try {
  const v = await verifier;
  console.log(`model ${v.version} loaded (threshold ${v.threshold.toFixed(4)})`);
} catch (e) {
  console.error(`Refusing to start: ${(e as Error).message}`);
  Deno.exit(1);
}
const port = Number(Deno.env.get("PORT") ?? 8000);

// Deno's server.shutdown() cuts request bodies still being uploaded, so drain
// first: once signalled, new requests get 503 shutting_down, requests already
// in flight finish (up to 4.5 s, inside Deploy's 5 s grace), then the
// listener closes.
let inflight = 0, draining = false;
const server = Deno.serve({ port, hostname: Deno.env.get("HOST") ?? "0.0.0.0" }, async (req, info) => {
  if (draining) {
    const error = { code: "shutting_down", message: "Server is shutting down; retry on another instance" };
    return Response.json({ error }, {
      status: STATUS.shutting_down,
      headers: { connection: "close", "retry-after": "1" },
    });
  }
  inflight++;
  try {
    return await app.fetch(req, info);
  } finally {
    inflight--;
  }
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    if (draining) return;
    draining = true;
    console.log(`${sig}: draining ${inflight} in-flight request(s)`);
    const deadline = Date.now() + 4500;
    while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await server.shutdown();
    Deno.exit(0);
  });
}

// deno task serve: the verifier on http://localhost:$PORT (default 8000).
// Refuses to start on weights that fail verification; on SIGINT/SIGTERM stops
// accepting connections, lets in-flight requests finish, exits 0.
import { buildApp } from "./server.ts";

const { app, verifier } = buildApp();
try {
  const v = await verifier;
  console.log(`model ${v.version} loaded (threshold ${v.threshold.toFixed(4)})`);
} catch (e) {
  console.error(`Refusing to start: ${(e as Error).message}`);
  Deno.exit(1);
}
const port = Number(Deno.env.get("PORT") ?? 8000);
const server = Deno.serve({ port, hostname: Deno.env.get("HOST") ?? "0.0.0.0" }, app.fetch);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, async () => {
    console.log(`${sig}: draining in-flight requests`);
    await server.shutdown();
    Deno.exit(0);
  });
}

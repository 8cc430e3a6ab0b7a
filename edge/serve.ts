// The same app for `deno serve` (e.g. `deno serve --parallel` for one isolate
// per core): deno serve --allow-read=weights,node_modules,edge,shared,/usr/bin/ldd --allow-env
// --allow-ffi=node_modules --allow-sys=cpus edge/serve.ts
import { buildApp } from "./server.ts";

const { app } = buildApp();
export default { fetch: app.fetch };

// The same app for `deno serve` (e.g. `deno serve --parallel` for one isolate
// per core): deno serve edge/serve.ts --allow-read=weights,node_modules --allow-env
import { buildApp } from "./server.ts";

const { app } = buildApp();
export default { fetch: app.fetch };

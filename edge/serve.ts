// The same app for `deno serve` (`deno serve --parallel` for one isolate per
// core), the alternative that `deno task bench:isolates` measures beside
// edge/main.ts. It does not drain: on SIGTERM `deno serve` closes at once and
// cuts request bodies still uploading, which is why `deno task serve` runs
// edge/main.ts's own isolates instead.
//   deno serve --parallel --allow-read=weights,node_modules,edge,shared,/usr/bin/ldd --allow-env
//     --allow-ffi=node_modules --allow-sys=cpus edge/serve.ts
import { buildApp } from "./server.ts";

const { app } = buildApp();
export default { fetch: app.fetch };

// The "deploy" section of deno.json against Deno Deploy's documented schema,
// read on 2026-12-02 from docs.deno.com:
// - deploy/reference/builds ("deno.json options", last modified 2026-10-01):
//   deploy.framework | deploy.runtime (one required), install, build,
//   predeploy, buildTimeout; runtime.type "dynamic" with entrypoint, args,
//   cwd, memoryLimit (memory_limit deprecated);
// - runtime/reference/cli/deploy (2026-06-01): deploy.org and deploy.app;
//   node_modules is not uploaded (--allow-node-modules), so an install step
//   must create it; the deploy CLI (denoland/deploy-cli, rs_lib) uploads what
//   deploy.include/exclude select, minus .gitignore'd files;
// - deploy/reference/runtime: the standard Deno runtime (2.5.0 documented),
//   --allow-all, no custom runtime flags.
// And what the entry needs at run time is inside what gets uploaded or
// installed: every local module of its graph (and of its workers), and every
// file the page routes read.
import { assert, assertEquals } from "./assert.ts";
import { pageAssets, WEIGHTS_DIR } from "../edge/server.ts";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const deploy = config.deploy;

const DEPLOY_KEYS = [
  "org",
  "app",
  "framework",
  "install",
  "build",
  "predeploy",
  "buildTimeout",
  "runtime",
  "include",
  "exclude",
];
const RUNTIME_KEYS = ["type", "entrypoint", "args", "cwd", "memoryLimit"];

Deno.test("deno.json's deploy section uses only documented keys, a dynamic runtime and an install step", () => {
  for (const k of Object.keys(deploy)) assert(DEPLOY_KEYS.includes(k), `unknown deploy key "${k}"`);
  for (const k of Object.keys(deploy.runtime)) {
    assert(RUNTIME_KEYS.includes(k), `unknown deploy.runtime key "${k}"`);
  }
  assertEquals(deploy.runtime.type, "dynamic");
  assert(typeof deploy.install === "string" && /\bdeno install\b/.test(deploy.install), "no install step");
  assert(typeof deploy.org === "string" && typeof deploy.app === "string");
  assert(
    !("args" in deploy.runtime) || deploy.runtime.args.every((a: string) => !a.startsWith("--unstable")),
  );
});

/** Whether deploy.include/exclude upload `path` (relative to the root; a pattern ending in / is a folder). */
function uploaded(path: string): boolean {
  const hit = (p: string) => (p.endsWith("/") ? path.startsWith(p) : path === p);
  return deploy.include.some(hit) && !(deploy.exclude ?? []).some(hit);
}

/** Local modules of `entry`'s graph, relative to the root. */
async function localModules(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root.pathname,
    stdout: "piped",
  }).output();
  assert(out.success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return info.modules
    .map((m: { specifier: string }) => m.specifier)
    .filter((s: string) => s.startsWith(root.href))
    .map((s: string) => s.slice(root.href.length));
}

Deno.test("the entrypoint, its workers' modules and every file it reads are uploaded (or installed)", async () => {
  const entry = deploy.runtime.entrypoint;
  assert(Deno.statSync(new URL(entry, root)).isFile, `${entry} does not exist`);
  // Workers are started by URL, not imported: their graphs are checked too.
  const entries = [entry, "edge/isolate.ts", "shared/heic_worker.ts"];
  for (const e of entries) {
    for (const m of await localModules(e)) assert(uploaded(m), `${m} (imported from ${e}) is not uploaded`);
  }
  const gitignored = (await Deno.readTextFile(new URL(".gitignore", root))).split("\n").filter(Boolean);
  for (const { url } of Object.values(pageAssets(WEIGHTS_DIR))) {
    const path = url.href.slice(root.href.length);
    assert(Deno.statSync(url).isFile, `${path} does not exist`);
    if (path.startsWith("node_modules/")) continue; // created by deploy.install on the builder
    assert(uploaded(path), `${path} (served by the page routes) is not uploaded`);
    assert(!gitignored.some((g) => path.startsWith(g.replace(/^\//, ""))), `${path} is .gitignore'd`);
  }
  for (const f of ["deno.json", "deno.lock"]) assert(uploaded(f), `${f} is not uploaded`);
});

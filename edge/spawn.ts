// Start the real server (edge/main.ts) as a child process on a free loopback
// port, for benchmarks, the load test and end-to-end tests, with the read
// permissions of `deno task serve` unless a caller narrows them.
const root = (p: string) => new URL(`../${p}`, import.meta.url).pathname;

/**
 * What `deno task serve` may read: weights, npm packages (with sharp's native
 * libvips), the page, the code, and /usr/bin/ldd, where sharp learns the C
 * library to load (glibc or musl).
 */
export const SERVE_READ = [...["weights", "node_modules", "edge", "shared"].map(root), "/usr/bin/ldd"].join(
  ",",
);

/**
 * `deno run` flags of `deno task serve`: `read` narrows reading; `ffi: false`
 * denies loading native code, leaving sharp its WebAssembly build, which
 * looks around the file system as it starts (its module folder, each PATH
 * entry) and aborts on a denied read: give it `read: "/"`.
 */
export function serveFlags(read = SERVE_READ, ffi = true): string[] {
  return [
    `--allow-read=${read}`,
    "--allow-env",
    "--allow-net",
    ...(ffi ? [`--allow-ffi=${root("node_modules")}`] : []),
    "--allow-sys=cpus",
    "--unstable-net", // Deno.serve's reusePort: one port for every isolate
    YOUNG_GENERATION_CAP,
  ];
}

/**
 * V8's young generation grows to 64 MiB per isolate under load, and the
 * request buffers it has not yet collected hold malloc'd memory with it:
 * 4 MiB semi-spaces keep RSS flat at no cost in throughput (docs/serving.md).
 */
export const YOUNG_GENERATION_CAP = "--v8-flags=--max-semi-space-size=4";

/** A random port for a server under test, below Linux's ephemeral range (32768+), where client sockets hold ports. */
export function freePort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

export interface Spawned {
  child: Deno.ChildProcess;
  base: string;
}

/** Spawn edge/main.ts and wait until GET `waitFor` answers 200 (default /readyz). */
export async function spawnServer(opts: {
  env?: Record<string, string>;
  stdout?: "null" | "piped";
  stderr?: "inherit" | "piped" | "null";
  waitFor?: string;
  read?: string;
  /** Let sharp load its native build (default true); false leaves it its WebAssembly build. */
  ffi?: boolean;
  /** `deno run` flags instead of serveFlags(read, ffi). */
  flags?: string[];
} = {}): Promise<Spawned> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(opts.flags ?? serveFlags(opts.read, opts.ffi)), root("edge/main.ts")],
    env: { PORT: String(port), HOST: "127.0.0.1", ...opts.env },
    stdout: opts.stdout ?? "null",
    stderr: opts.stderr ?? "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  await waitUntilOk(child, `${base}${opts.waitFor ?? "/readyz"}`, "edge/main.ts");
  return { child, base };
}

/** Poll `url` until it answers 2xx (up to `seconds`); otherwise kill the child and throw. */
export async function waitUntilOk(child: Deno.ChildProcess, url: string, what: string, seconds = 10) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end;) {
    const r = await fetch(url).catch(() => undefined); // not listening yet
    await r?.body?.cancel();
    if (r?.ok) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  throw new Error(`${what} did not become ready in ${seconds} s`);
}

/** Deno Deploy's runtime as its documentation states it (deploy/reference/runtime, read 2026-12-02). */
export const DEPLOY_DENO = "2.5.0";

/** The path of Deno `version`'s binary, from npm (npx caches it; CI fetches its own Deno the same way). */
export async function denoFromNpm(version: string): Promise<string> {
  const out = await new Deno.Command("npx", {
    args: ["--yes", `deno@${version}`, "eval", "console.log(Deno.execPath(), Deno.version.deno)"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const [path, v] = new TextDecoder().decode(out.stdout).trim().split(" ");
  if (!out.success || v !== version) throw new Error(`npx deno@${version} gave ${v ?? "nothing"}`);
  return path;
}

/**
 * edge/main.ts as Deno Deploy runs it: Deno `deno` (a path), --allow-all and
 * no other flag, DENO_DEPLOYMENT_ID set (so one isolate); ready on /readyz
 * unless `wait` is false.
 */
export async function spawnAsDeploy(
  deno: string,
  env: Record<string, string> = {},
  wait = true,
): Promise<Spawned> {
  const port = freePort(), base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(deno, {
    args: ["run", "--allow-all", "edge/main.ts"],
    cwd: root(""),
    env: { PORT: String(port), HOST: "127.0.0.1", DENO_DEPLOYMENT_ID: "local", ...env },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  if (wait) await waitUntilOk(child, `${base}/readyz`, `edge/main.ts on ${deno}`, 30);
  return { child, base };
}

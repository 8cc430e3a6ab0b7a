// The fuzz campaign: cases from tests/fuzz_gen.ts (each parser's edges, with
// oracles) against the real server process (edge/main.ts via spawnServer,
// body limit MAX_BODY_MB=0.5) over several keep-alive sockets, or in this
// process (app.request, for the test suite). Every answer is judged by
// tests/fuzz_judge.ts; a violation is counted by signature and the campaign
// goes on: a hang (per-case timeout), a server that dies ("crash": it is
// restarted, and the cases in flight are replayed alone to find the one), a
// 5xx, an unknown code, a status off the table, a stack trace, an oracle's
// answer not given. Each new signature is written to tests/fuzz/<slug>.json
// (tests/fuzz_test.ts replays the corpus). Every `--every` cases a valid
// /verify and /embed must answer as at the start.
//
//   deno task fuzz --seeds 1-10 --cases 100000 [--from 0] [--conns 4] [--timeout-ms 10000]
//                  [--every 1000] [--isolates N] [--in-process] [--no-write]
// A seed's cases are the same whatever --conns and --from: case i of seed s
// is fixed (batches of 250 drawn from fast-check seed s*1000003 + i/250).
import fc from "fast-check";
import { createApp } from "../edge/app.ts";
import { spawnServer } from "../edge/spawn.ts";
import { useBackend } from "../shared/backend.ts";
import { stopHeicDecoder } from "../shared/heic_thread.ts";
import { randomVerifier } from "./fixtures.ts";
import { type Case, PNG } from "./hostile.ts";
import { FORM_TYPE, pngForm } from "../bench/loadgen.ts";
import { campaignCase } from "./fuzz_gen.ts";
import { type Answer, Conn, requestBytes, Timeout } from "./fuzz_http.ts";
import {
  type CorpusEntry,
  family,
  judge,
  normalise,
  slug,
  toEntry,
  type Verdict,
  type Violation,
} from "./fuzz_judge.ts";

/** The body limit of the campaign's server (MAX_BODY_MB=0.5) and of the in-process app. */
export const LIMIT = 512 * 1024;
const CORPUS = new URL("./fuzz/", import.meta.url);

const multipartOf = (fields: string[]): Case => ({
  kind: "valid",
  path: fields.length === 2 ? "/verify" : "/embed",
  headers: { "content-type": FORM_TYPE },
  body: new Uint8Array(pngForm(Object.fromEntries(fields.map((f) => [f, PNG])))),
});
/** A valid /verify and /embed: their answers must not change during a campaign. */
export const VALID_CASES: Case[] = [multipartOf(["a", "b"]), multipartOf(["image"])];
/** The part of a valid answer that must stay the same. */
const essence = (a: Answer) => {
  try {
    const b = JSON.parse(a.body);
    return `${a.status} ${JSON.stringify(b.probability ?? b.embedding ?? b.error)}`;
  } catch {
    return `${a.status} ${a.body.slice(0, 100)}`;
  }
};

/** Sends cases one at a time (a keep-alive connection, or app.request). */
interface Channel {
  send(c: Case): Promise<Answer>;
  close(): void;
}

/** Where cases go: this process's app, or a server process. */
export interface Target {
  limit: number;
  channel(): Channel;
  /** What the server logged for request `id` (an internal error: its first line and frame), if anything. */
  serverLog(id: string | undefined): Promise<string | undefined>;
  close(): Promise<void>;
}

/** "TypeError: x (edge/inputs.ts:52:11)": an error's first line and its first frame in the project. */
function errorLine(text: string): string {
  const lines = text.split("\n");
  const frame = lines.find((l) => /(edge|shared)\/[\w/]+\.ts:\d+/.test(l))?.match(
    /(edge|shared)\/[\w/]+\.ts:\d+/,
  )?.[0];
  return `${lines[0].trim()}${frame ? ` (${frame})` : ""}`;
}

/** Raw cases over a socket; the rest through app.request, with the app's error log captured. */
export async function inProcessTarget(limit = LIMIT): Promise<Target> {
  await useBackend("wasm");
  const app = createApp({ verifier: await randomVerifier(), maxBodyBytes: limit });
  let server: Deno.HttpServer | undefined;
  const logged = new Map<string, string>();
  const original = console.error;
  const capture = (...args: unknown[]) => {
    const m = /^request (\S+) failed:/.exec(String(args[0]));
    if (!m) return original(...args);
    const e = args[1] as Error | undefined;
    logged.set(m[1], errorLine(e?.stack ?? String(e)));
    if (logged.size > 1000) logged.delete(logged.keys().next().value!);
  };
  return {
    limit,
    channel: () => ({
      async send(c: Case): Promise<Answer> {
        console.error = capture;
        if (c.raw) {
          server ??= Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
          const conn = await Conn.open((server.addr as Deno.NetAddr).port);
          try {
            return await conn.exchange(c.raw, 10_000, c.halfClose);
          } finally {
            conn.close();
          }
        }
        const method = c.method ?? "POST";
        const bodyless = method === "GET" || method === "HEAD";
        const res = await app.request(c.path ?? "/verify", {
          method,
          headers: c.headers,
          body: bodyless ? undefined : (c.body as BodyInit),
        });
        return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
      },
      close() {},
    }),
    serverLog: (id) => Promise.resolve(id ? logged.get(id) : undefined),
    async close() {
      console.error = original;
      await server?.shutdown();
      server = undefined;
    },
  };
}

/** edge/main.ts as a child process, its stderr kept (the last lines) to name internal errors and crashes. */
class ServerProcess {
  child!: Deno.ChildProcess;
  port = 0;
  generation = 0;
  dead = false;
  restarts = 0;
  lines: string[] = [];
  /** How the process ended ("killed by SIGSEGV", "exit code 1"), once it has. */
  exit: string | undefined;

  constructor(readonly env: Record<string, string>) {}

  async start() {
    if (this.child && !this.dead) await this.stop().catch(() => {}); // never two
    const s = await spawnServer({ env: this.env, stderr: "piped" });
    this.child = s.child;
    this.port = Number(new URL(s.base).port);
    this.dead = false;
    const gen = ++this.generation;
    this.exit = undefined;
    this.child.status.then((st) => {
      if (gen !== this.generation) return;
      this.dead = true;
      this.exit = st.signal ? `killed by ${st.signal}` : `exit code ${st.code}`;
    });
    (async () => {
      let rest = "";
      for await (const text of this.child.stderr.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + text).split("\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
        if (this.lines.length > 4000) this.lines.splice(0, this.lines.length - 2000);
      }
    })().catch(() => {});
  }

  async stop() {
    this.generation++;
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.child.status;
  }

  /** The server's last words (stderr's last lines, without blanks). */
  tail(n = 5) {
    return this.lines.filter((l) => l.trim()).slice(-n).join("\n");
  }

  /** How it died: the exit, and the last fatal-looking line it wrote (a panic, an abort, out of memory), if any. */
  death(): string {
    const fatal = this.lines.slice(-40).findLast((l) =>
      /panic|fatal|abort|out of memory|uncaught|segmentation|error:/i.test(l) && !/^\s+at /.test(l)
    );
    return `${this.exit ?? "alive"}${fatal ? `: ${fatal.trim()}` : ""}`;
  }

  async log(id: string | undefined): Promise<string | undefined> {
    if (!id) return undefined;
    for (let tries = 0; tries < 10; tries++) {
      const i = this.lines.findLastIndex((l) => l.includes(`request ${id} failed`));
      if (i >= 0) {
        const text = [this.lines[i].replace(/^.*?failed:\s*/, ""), ...this.lines.slice(i + 1, i + 30)].join(
          "\n",
        );
        return errorLine(text);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }
}

interface Options {
  seeds: number[];
  cases: number;
  /** The first case index to run (a campaign continued: --from 60000 --cases 100000 runs cases 60000..99999). */
  from: number;
  conns: number;
  timeoutMs: number;
  every: number;
  inProcess: boolean;
  write: boolean;
  isolates?: number;
  command: string;
}

/** Counts for one seed (or the total). */
class Stats {
  cases = 0;
  oracle = 0;
  framing = 0;
  ms = 0;
  byKey = new Map<string, number>();
  byFamily = new Map<string, number>();
  violations = new Map<
    string,
    { count: number; violation: Violation; file: string; isNew: boolean; kinds: Map<string, number> }
  >();
  add(other: Stats) {
    this.cases += other.cases;
    this.oracle += other.oracle;
    this.framing += other.framing;
    this.ms += other.ms;
    for (const [k, v] of other.byKey) this.byKey.set(k, (this.byKey.get(k) ?? 0) + v);
    for (const [k, v] of other.byFamily) this.byFamily.set(k, (this.byFamily.get(k) ?? 0) + v);
    for (const [k, v] of other.violations) {
      const mine = this.violations.get(k);
      if (!mine) this.violations.set(k, { ...v, kinds: new Map(v.kinds) });
      else {
        mine.count += v.count;
        for (const [kind, n] of v.kinds) mine.kinds.set(kind, (mine.kinds.get(kind) ?? 0) + n);
      }
    }
  }
  print(title: string) {
    const rate = this.cases / (this.ms / 1000);
    const pct = (n: number) => `${((100 * n) / Math.max(1, this.cases)).toFixed(1)}%`;
    console.log(
      `\n${title}: ${this.cases} cases in ${(this.ms / 1000).toFixed(1)} s (${rate.toFixed(0)} cases/s); ` +
        `exact oracle ${pct(this.oracle)}, framing oracle ${pct(this.framing)}`,
    );
    console.log("  by status and code:");
    for (const [k, v] of [...this.byKey].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${String(v).padStart(9)}  ${k}`);
    }
    console.log(
      `  by family: ${
        [...this.byFamily].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
      }`,
    );
    if (this.violations.size === 0) console.log("  violations: none");
    else {
      console.log(
        `  violations (${[...this.violations.values()].reduce((n, v) => n + v.count, 0)}) by signature:`,
      );
      for (const [sig, v] of [...this.violations].sort((a, b) => b[1].count - a[1].count)) {
        const kinds = [...v.kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
        console.log(`  ${String(v.count).padStart(9)}  ${sig}`);
        console.log(`             ${v.file}${v.isNew ? " (new)" : " (known)"}; cases: ${kinds}`);
      }
    }
  }
}

/** Signatures already in the corpus, and their files (only new ones are written). */
async function knownSignatures(): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for await (const e of Deno.readDir(CORPUS)) {
    if (!e.name.endsWith(".json")) continue;
    const entry = JSON.parse(await Deno.readTextFile(new URL(e.name, CORPUS))) as CorpusEntry;
    if (entry.signature) known.set(entry.signature, e.name);
  }
  return known;
}

/** Run `n` cases of `seed` through `target`'s channels, `conns` at a time. */
async function runSeed(
  seed: number,
  opts: Options,
  target: Target,
  proc: ServerProcess | undefined,
  known: Map<string, string>,
) {
  const stats = new Stats();
  const arb = campaignCase(target.limit);
  const BATCH = 250;
  let next = opts.from, loaded = -1, batch: Case[] = [];
  const take = (): [number, Case] | undefined => {
    if (next >= opts.cases) return undefined;
    const i = next++, b = Math.floor(i / BATCH);
    if (b !== loaded) {
      batch = fc.sample(arb, { seed: (seed * 1_000_003 + b) | 0, numRuns: BATCH });
      loaded = b;
    }
    return [i, batch[i % BATCH]];
  };
  const inFlight = new Set<Case>();
  let baseline: string[] | undefined;
  let restarting: Promise<void> | undefined;
  let timeoutsSinceStart = 0;

  const record = async (c: Case, i: number, v: Verdict) => {
    stats.byKey.set(v.key, (stats.byKey.get(v.key) ?? 0) + 1);
    if (!v.violation) return;
    const sig = v.violation.signature;
    const seen = stats.violations.get(sig);
    if (seen) {
      seen.count++;
      seen.kinds.set(c.kind, (seen.kinds.get(c.kind) ?? 0) + 1);
      return;
    }
    let file = known.get(sig);
    const isNew = file === undefined;
    if (isNew) {
      file = `${slug(sig)}.json`;
      const entry = toEntry(c, v.violation.detail, v.violation.expect, {
        signature: sig,
        observed: v.violation.observed,
        found: { seed, case: i, date: new Date().toISOString(), command: opts.command },
      });
      if (opts.write) await Deno.writeTextFile(new URL(file, CORPUS), JSON.stringify(entry, null, 2) + "\n");
      known.set(sig, file);
    }
    stats.violations.set(sig, {
      count: 1,
      violation: v.violation,
      file: `tests/fuzz/${file}`,
      isNew,
      kinds: new Map([[c.kind, 1]]),
    });
  };

  const violation = (
    kind: string,
    signature: string,
    detail: string,
    observed: Violation["observed"],
  ): Verdict => ({
    key: kind,
    violation: { kind, signature: `${kind} ${signature}`.trim(), detail, expect: null, observed },
  });

  /** The server died: restart it, then replay the cases that were in flight alone to find the one that kills it. */
  const crashed = async (c: Case, i: number, gen: number, unresponsive = false) => {
    if (!proc) throw new Error("unreachable");
    if (restarting) return await restarting;
    if (gen !== proc.generation) return;
    const suspects = unresponsive ? [] : [...inFlight];
    restarting = (async () => {
      await Promise.race([proc.child.status, new Promise((r) => setTimeout(r, 500))]);
      const words = unresponsive ? "no answer" : proc.death();
      await proc.stop().catch(() => {});
      await proc.start();
      proc.restarts++;
      timeoutsSinceStart = 0;
      let culprit: Case | undefined, last = words;
      for (const s of suspects) {
        const ch = target.channel();
        const g = proc.generation;
        await ch.send(s).catch(() => undefined);
        ch.close();
        await Promise.race([proc.child.status, new Promise((r) => setTimeout(r, 300))]);
        if (proc.dead || g !== proc.generation) {
          culprit = s;
          last = proc.death();
          await proc.stop().catch(() => {});
          await proc.start();
          proc.restarts++;
          break;
        }
      }
      const who = culprit ?? c;
      const v = violation(
        unresponsive ? "unresponsive" : "crash",
        unresponsive ? "" : `${culprit ? culprit.kind : "unreproduced"} ${normalise(last)}`,
        unresponsive
          ? `the server stopped answering (restarted): ${last}`
          : `the server process died${
            culprit
              ? "; this case alone kills it"
              : ` (not reproduced alone; ${suspects.length} cases were in flight)`
          }: ${last}`,
        { status: 0, code: null, server: `${last}\n${proc.tail(20)}` },
      );
      await record(who, i, v);
    })();
    await restarting;
    restarting = undefined;
  };

  const healthy = async () => {
    if (!proc) return true;
    const ch = target.channel();
    try {
      const a = await ch.send({ kind: "health", method: "GET", path: "/healthz", headers: {}, body: "" });
      return a.status === 200;
    } catch {
      return false;
    } finally {
      ch.close();
    }
  };

  const checkValid = async (ch: Channel, i: number) => {
    const got: string[] = [];
    for (const vc of VALID_CASES) {
      got.push(essence(await ch.send(vc).catch((e) => ({ status: -1, headers: {}, body: String(e) }))));
    }
    baseline ??= got;
    for (const [j, g] of got.entries()) {
      if (g !== baseline[j]) {
        await record(
          VALID_CASES[j],
          i,
          violation(
            "valid-changed",
            VALID_CASES[j].path!,
            `a valid request answered ${g.slice(0, 200)}, at first ${baseline[j].slice(0, 200)}`,
            {
              status: Number(g.split(" ")[0]),
              code: null,
            },
          ),
        );
      }
    }
  };

  const worker = async () => {
    let ch = target.channel();
    await checkValid(ch, 0);
    for (let t = take(); t; t = take()) {
      const [i, c] = t;
      const exp = c.expect;
      if (exp === "framing") stats.framing++;
      else if (exp) stats.oracle++;
      stats.byFamily.set(family(c.kind), (stats.byFamily.get(family(c.kind)) ?? 0) + 1);
      stats.cases++;
      if (restarting) await restarting;
      const gen = proc?.generation ?? 0;
      inFlight.add(c);
      let verdict: Verdict | undefined;
      for (let attempt = 0; attempt < 2 && !verdict; attempt++) {
        try {
          const a = await ch.send(c);
          if (a.status === 0 && proc) {
            await Promise.race([proc.child.status, new Promise((r) => setTimeout(r, 300))]);
            if (proc.dead || gen !== proc.generation) {
              await crashed(c, i, gen);
              ch.close();
              ch = target.channel();
              continue; // this case again, on the new server
            }
          }
          const id = a.headers["x-request-id"];
          verdict = judge(c, a, target.limit, a.status >= 500 ? await target.serverLog(id) : undefined);
        } catch (e) {
          ch.close();
          ch = target.channel();
          if (e instanceof Timeout) {
            verdict = violation("timeout", `${c.kind}`, `no answer in ${opts.timeoutMs} ms`, {
              status: 0,
              code: null,
            });
            if (proc && gen === proc.generation && (++timeoutsSinceStart >= 3 || !(await healthy()))) {
              await crashed(c, i, gen, true);
            }
            break;
          }
          if (proc) {
            await Promise.race([proc.child.status, new Promise((r) => setTimeout(r, 300))]);
            if (proc.dead || gen !== proc.generation) {
              await crashed(c, i, gen);
              continue;
            }
          }
          verdict = violation("client-error", `${(e as Error).name}`, String(e), { status: 0, code: null });
        }
      }
      inFlight.delete(c);
      await record(
        c,
        i,
        verdict ??
          violation("crash-again", c.kind, "the server died twice on this case", { status: 0, code: null }),
      );
      if (i > 0 && i % opts.every === 0) await checkValid(ch, i);
    }
    ch.close();
  };

  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.conns }, worker));
  stats.ms = performance.now() - t0;
  return stats;
}

/** A target over a server process: each channel is one keep-alive connection (raw cases: a fresh one each). */
function processTarget(proc: ServerProcess, timeoutMs: number): Target {
  return {
    limit: LIMIT,
    channel() {
      let conn: Conn | undefined;
      return {
        async send(c: Case) {
          if (c.raw) {
            const fresh = await Conn.open(proc.port);
            try {
              return await fresh.exchange(c.raw, timeoutMs, c.halfClose);
            } finally {
              fresh.close();
            }
          }
          const bytes = requestBytes(c);
          for (let attempt = 0;; attempt++) {
            if (!conn || conn.dead) conn = await Conn.open(proc.port);
            const reused = conn.used > 0;
            const a = await conn.exchange(bytes, timeoutMs);
            // A keep-alive connection the server had closed: once more on a new one.
            if (a.status === 0 && reused && conn.received === 0 && attempt === 0) continue;
            return a;
          }
        },
        close: () => conn?.close(),
      };
    },
    serverLog: (id) => proc.log(id),
    close: () => proc.stop(),
  };
}

/**
 * `n` cases from `seed` in process, as a fast-check property; returns counts
 * by "status code". Throws at the first violation (no shrinking: the case as
 * generated is the one to record), with `failure` holding that case.
 */
export async function fuzz(t: Target, n: number, seed: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const ch = t.channel();
  let failure: { c: Case; violation: Violation } | undefined;
  const valid = async () => (await Promise.all(VALID_CASES.map((c) => ch.send(c)))).map(essence).join();
  const before = await valid();
  let runs = 0;
  try {
    await fc.assert(
      fc.asyncProperty(campaignCase(t.limit), async (c) => {
        const a = await ch.send(c);
        const v = judge(
          c,
          a,
          t.limit,
          a.status >= 500 ? await t.serverLog(a.headers["x-request-id"]) : undefined,
        );
        counts[v.key] = (counts[v.key] ?? 0) + 1;
        if (!v.violation && ++runs % 50 === 0 && (await valid()) !== before) {
          v.violation = {
            kind: "valid-changed",
            signature: "valid-changed",
            detail: "a valid request's answer changed",
            expect: null,
            observed: { status: 0, code: null },
          };
        }
        if (v.violation) {
          failure = { c, violation: v.violation };
          throw new Error(`${v.violation.signature}: ${v.violation.detail}`);
        }
      }),
      { numRuns: n, seed, endOnFailure: true },
    );
  } catch (e) {
    throw Object.assign(e as Error, { failure });
  }
  return counts;
}

function parseArgs(args: string[]): Options {
  const opts: Options = {
    seeds: [],
    cases: 100_000,
    from: 0,
    conns: 4,
    timeoutMs: 10_000,
    every: 1000,
    inProcess: false,
    write: true,
    command: `deno task fuzz ${args.join(" ")}`,
  };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i], val = () => args[++i];
    if (a === "--seeds" || a === "--seed") {
      for (const part of val().split(",")) {
        const [lo, hi] = part.split("-").map(Number);
        for (let s = lo; s <= (hi ?? lo); s++) opts.seeds.push(s);
      }
    } else if (a === "--cases") opts.cases = Number(val());
    else if (a === "--from") opts.from = Number(val());
    else if (a === "--conns") opts.conns = Number(val());
    else if (a === "--timeout-ms") opts.timeoutMs = Number(val());
    else if (a === "--every") opts.every = Number(val());
    else if (a === "--isolates") opts.isolates = Number(val());
    else if (a === "--in-process") opts.inProcess = true;
    else if (a === "--no-write") opts.write = false;
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  // The old form: deno task fuzz [cases] [seed]
  if (positional[0]) opts.cases = Number(positional[0]);
  if (positional[1]) opts.seeds.push(Number(positional[1]));
  if (!opts.seeds.length) opts.seeds.push(Date.now() % 1e9);
  return opts;
}

if (import.meta.main) {
  const opts = parseArgs(Deno.args);
  const t0 = performance.now();
  let proc: ServerProcess | undefined, target: Target;
  if (opts.inProcess) target = await inProcessTarget();
  else {
    proc = new ServerProcess({
      MAX_BODY_MB: String(LIMIT / 1024 / 1024),
      REQUEST_LOG: "off",
      ...(opts.isolates ? { ISOLATES: String(opts.isolates) } : {}),
    });
    await proc.start();
    target = processTarget(proc, opts.timeoutMs);
    const server = proc;
    Deno.addSignalListener("SIGINT", () => {
      server.stop().finally(() => Deno.exit(130));
    });
  }
  console.log(
    `${opts.command}\n${
      opts.inProcess
        ? "in process (app.request)"
        : `server process edge/main.ts (pid ${proc!.child.pid}, port ${proc!.port}, MAX_BODY_MB=0.5${
          opts.isolates ? `, ISOLATES=${opts.isolates}` : ""
        })`
    }; ` +
      `${opts.conns} connections, timeout ${opts.timeoutMs} ms, valid check every ${opts.every} cases`,
  );
  const known = await knownSignatures();
  const total = new Stats();
  for (const seed of opts.seeds) {
    const s = await runSeed(seed, opts, target, proc, known);
    s.print(`seed ${seed}`);
    total.add(s);
  }
  if (opts.seeds.length > 1) total.print(`total (seeds ${opts.seeds.join(",")})`);
  console.log(
    `\nwall ${((performance.now() - t0) / 1000).toFixed(1)} s${
      proc ? `; server restarts ${proc.restarts}` : ""
    }`,
  );
  await target.close();
  stopHeicDecoder();
  Deno.exit(total.violations.size ? 1 : 0);
}

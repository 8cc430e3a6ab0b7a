// Fuzzing the whole request path: hostile requests (tests/hostile.ts) through
// app.request(). Property: every request gets a 200 or a 4xx JSON error with
// a known code, never a 500 or a hang, and the next valid request still gets
// the right answer. `deno task fuzz [cases] [seed]` runs the long campaign and
// prints counts by status and code; failures are saved under tests/fuzz/.
import fc from "fast-check";
import { createApp } from "../edge/app.ts";
import { STATUS } from "../edge/errors.ts";
import { useBackend } from "../shared/backend.ts";
import { type Case, hostileCase, VALID_PNG } from "./hostile.ts";
import { randomVerifier } from "./fixtures.ts";
import { stopHeicDecoder } from "../shared/heic_thread.ts";

export const LIMIT = 64 * 1024;
const KNOWN = new Set(Object.keys(STATUS));

export async function makeTarget() {
  await useBackend("wasm");
  const app = createApp({ verifier: await randomVerifier(), maxBodyBytes: LIMIT });
  const valid = () => {
    const f = new FormData();
    f.append("a", new Blob([VALID_PNG as Uint8Array<ArrayBuffer>]), "a.png");
    f.append("b", new Blob([VALID_PNG as Uint8Array<ArrayBuffer>]), "b.png");
    return app.request("/verify", { method: "POST", body: f });
  };
  const expected = (await (await valid()).json()).probability as number;
  return { app, valid, expected };
}

export type Target = Awaited<ReturnType<typeof makeTarget>>;

/** Send one case; returns "status code" or throws describing the violation. */
export async function check(t: Target, c: Case): Promise<string> {
  const started = performance.now();
  const res = await t.app.request("/verify", {
    method: "POST",
    headers: c.headers,
    body: c.body as BodyInit,
  });
  const text = await res.text();
  if (performance.now() - started > 5000) throw new Error(`took ${performance.now() - started} ms`);
  let code = "";
  if (res.status !== 200) {
    const body = JSON.parse(text);
    code = body?.error?.code;
    if (res.status >= 500 || !KNOWN.has(code) || STATUS[code as keyof typeof STATUS] !== res.status) {
      throw new Error(`status ${res.status}: ${text.slice(0, 300)}`);
    }
    if (/\n\s+at /.test(body.error.message)) throw new Error(`stack trace in message: ${body.error.message}`);
  }
  const after = await (await t.valid()).json();
  if (after.probability !== t.expected) throw new Error(`next valid request answered ${after.probability}`);
  return `${res.status} ${code || "ok"}`;
}

/** A case as a JSON fixture (tests/fuzz/*.json). */
export function toFixture(c: Case, why: string): string {
  const base64 = typeof c.body === "string" ? undefined : c.body.toBase64();
  return JSON.stringify(
    { why, kind: c.kind, headers: c.headers, ...(base64 ? { base64 } : { body: c.body }) },
    null,
    1,
  );
}

/**
 * Run `n` cases from `seed`; returns counts by "status code". On a violation
 * it throws, with `failure` set to the smallest failing case fast-check found.
 */
export async function fuzz(t: Target, n: number, seed: number) {
  const counts: Record<string, number> = {};
  let failure: { c: Case; why: string } | undefined;
  try {
    await fc.assert(
      fc.asyncProperty(hostileCase(LIMIT), async (c) => {
        try {
          const key = await check(t, c);
          counts[key] = (counts[key] ?? 0) + 1;
        } catch (e) {
          failure = { c, why: (e as Error).message };
          throw e;
        }
      }),
      { numRuns: n, seed, endOnFailure: true },
    );
  } catch (e) {
    throw Object.assign(e as Error, { failure });
  }
  return counts;
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 100_000), seed = Number(Deno.args[1] ?? Date.now() % 1e9);
  const t = await makeTarget();
  const t0 = performance.now();
  try {
    const counts = await fuzz(t, n, seed);
    console.log(`${n} cases, seed ${seed}, ${((performance.now() - t0) / 1000).toFixed(0)} s, no violation`);
    for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1])) {
      console.log(`${String(v).padStart(7)}  ${k}`);
    }
    stopHeicDecoder();
  } catch (e) {
    const f = (e as { failure?: { c: Case; why: string } }).failure;
    const file = new URL(`./fuzz/failure-${seed}.json`, import.meta.url);
    if (f) await Deno.writeTextFile(file, toFixture(f.c, f.why));
    console.error(
      `violation${f ? ` (saved to ${file.pathname})` : ""}:\n${(e as Error).message.slice(0, 2000)}`,
    );
    Deno.exit(1);
  }
}

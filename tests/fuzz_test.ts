// A CI-sized slice of the fuzz campaign (tests/fuzz.ts: 400 cases, fixed
// seed, in process), and the corpus: every tests/fuzz/*.json is replayed in
// process (app.request; raw-socket cases through Deno.serve in this process)
// and must get exactly its `expect` {status, code}. The campaign writes a
// file per new violation signature: with the oracle's answer as `expect`
// when the case had one, otherwise `expect: null` (and a `_note` saying so),
// which fails here until someone fixes the bug and fills in the right
// answer. Any violation of the slice fails, a known signature's too: the
// corpus holds bugs that were fixed.
import fc from "fast-check";
import { fuzz, inProcessTarget, LIMIT } from "./fuzz.ts";
import { campaignCase, FAMILIES } from "./fuzz_gen.ts";
import { type CorpusEntry, family, fromEntry, toEntry, type Violation } from "./fuzz_judge.ts";
import type { Case } from "./hostile.ts";
import { assert } from "./assert.ts";
import { ERROR_STATUS } from "../shared/errors.ts";

const target = await inProcessTarget();

Deno.test("400 cases of the campaign's generators in process (seed 20261202): each answered as the invariants and oracles say", async () => {
  try {
    const counts = await fuzz(target, 400, 20261202);
    assert(Object.keys(counts).length > 10, `too little variety: ${JSON.stringify(counts)}`);
  } catch (e) {
    const f = (e as { failure?: { c: Case; violation: Violation } }).failure;
    if (!f) throw e;
    const entry = toEntry(f.c, f.violation.detail, f.violation.expect, { observed: f.violation.observed });
    throw new Error(
      `${f.violation.signature}\n${f.violation.detail}\nthe case, as a corpus entry:\n${
        JSON.stringify(entry, null, 2).slice(0, 3000)
      }` +
        (f.c.raw ? `\nraw request: ${JSON.stringify(new TextDecoder().decode(f.c.raw)).slice(0, 600)}` : ""),
    );
  } finally {
    await target.close();
  }
});

Deno.test("the campaign's mix has every family, and most cases carry an oracle", () => {
  const cases = fc.sample(campaignCase(LIMIT), { seed: 7, numRuns: 1500 });
  const families = new Set(cases.map((c) => family(c.kind)));
  for (const f of Object.keys(FAMILIES(LIMIT))) assert(families.has(f), `no case of family ${f}`);
  const exact = cases.filter((c) => c.expect && c.expect !== "framing").length;
  assert(exact / cases.length > 0.6, `only ${exact} of ${cases.length} cases have an exact oracle`);
  // Each case can be sent, and an exact oracle is a 200 without a code or a code at its table status.
  const statuses: Record<string, number> = ERROR_STATUS;
  for (const c of cases) {
    const sendable = c.raw ? c.raw.length > 0 : typeof c.body === "string" || c.body instanceof Uint8Array;
    const e = c.expect;
    const oracle = e === undefined || e === "framing" ||
      (e.code === null ? e.status === 200 : statuses[e.code] === e.status);
    assert(c.kind && sendable && oracle, `malformed case ${JSON.stringify(c).slice(0, 200)}`);
  }
});

Deno.test("the corpus (tests/fuzz/*.json): each case gets exactly its recorded status and code", async () => {
  const failures: string[] = [];
  let n = 0;
  try {
    for await (const e of Deno.readDir(new URL("./fuzz/", import.meta.url))) {
      if (!e.name.endsWith(".json")) continue;
      n++;
      const entry = JSON.parse(
        await Deno.readTextFile(new URL(`./fuzz/${e.name}`, import.meta.url)),
      ) as CorpusEntry;
      if (!entry.expect) {
        failures.push(
          `${e.name}: expect is null: a bug the campaign found (${
            entry.why.slice(0, 200)
          }); fix it, then fill in expect`,
        );
        continue;
      }
      const ch = target.channel();
      const a = await ch.send(fromEntry(entry));
      let code: string | null = null;
      try {
        code = JSON.parse(a.body)?.error?.code ?? null;
      } catch { /* not JSON */ }
      if (a.status !== entry.expect.status || code !== entry.expect.code) {
        failures.push(
          `${e.name}: expected ${entry.expect.status} ${entry.expect.code ?? "ok"}, got ${a.status} ${
            code ?? "ok"
          }: ${a.body.slice(0, 200)}`,
        );
      }
    }
  } finally {
    await target.close();
  }
  assert(n >= 10, `corpus has ${n} files`);
  assert(failures.length === 0, `${failures.length} corpus case(s) failed:\n${failures.join("\n")}`);
});

// What the fuzz campaign holds every answer to, and how it names and records
// a violation. Invariants for every case: no 5xx, an error is JSON
// {error: {code, message}} with a known code at its table status
// (shared/errors.ts ERROR_STATUS) and no stack trace in the message, a 200
// has the route's shape. Oracle cases also get exactly their status and code.
import { ERROR_STATUS } from "../shared/errors.ts";
import type { Case, Exact, Expect } from "./hostile.ts";
import type { Answer } from "./fuzz_http.ts";

/** A broken rule. `signature` groups violations that are most likely one bug. */
export interface Violation {
  kind: string;
  signature: string;
  /** For people: what was wrong. */
  detail: string;
  /** The answer the case should have had, when known. */
  expect: Exact | null;
  observed: { status: number; code: string | null; message?: string; server?: string };
}

export interface Verdict {
  /** "status code" for the counts ("200 ok", "400 bad_base64", "0 closed", "400 (http)"). */
  key: string;
  violation?: Violation;
}

const enc = new TextEncoder();
const bodyLength = (c: Case) => (typeof c.body === "string" ? enc.encode(c.body).length : c.body.length);

/** Whether a case goes through the body limit (POST /verify or /embed, whatever the query). */
const limited = (c: Case) =>
  !c.raw && (c.method ?? "POST") === "POST" && /^\/(verify|embed)(\?.*)?$/.test(c.path ?? "/verify");

/** The case's oracle: a body over `limit` bytes is 413 body_too_large whatever it holds. */
function expected(c: Case, limit: number): Expect | undefined {
  if (limited(c) && bodyLength(c) > limit) return { status: 413, code: "body_too_large" };
  return c.expect;
}

/** The generator family: "b64.url-padded-ws" -> "b64". */
export const family = (kind: string) => kind.split(".")[0];

/** A message with its specifics (quoted values, numbers, ids) taken out, for grouping. */
export function normalise(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b[0-9a-f]{8}-[0-9a-f-]{27}\b/gi, "<id>")
    .replace(/\d+/g, "N")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 100);
}

const STACK = /\n\s+at |\bat .*\.(ts|js|mjs):\d+|file:\/\/|node_modules\//;

/**
 * Judge one answer. `server` is what the server logged for this request
 * (an internal error's first line), used to tell 500s apart.
 */
export function judge(c: Case, a: Answer, limit: number, server?: string): Verdict {
  const exp = expected(c, limit);
  const fam = family(c.kind);
  const v = (
    kind: string,
    signature: string,
    detail: string,
    observed: Violation["observed"],
  ): Verdict => ({
    key: `${observed.status} ${observed.code ?? "?"}`,
    violation: {
      kind,
      signature: `${kind} ${signature}`,
      detail,
      expect: exp && exp !== "framing" ? exp : null,
      observed: server ? { ...observed, server } : observed,
    },
  });
  if (a.status === 0) {
    // Malformed framing may be answered by closing; so may a body over the limit (the server stops reading).
    if (exp === "framing" || exp?.code === "body_too_large") return { key: "0 closed" };
    return v("no-answer", `${c.kind}`, "the connection closed without an answer", { status: 0, code: null });
  }
  let body: { error?: { code?: unknown; message?: unknown }; [k: string]: unknown } | undefined;
  try {
    body = JSON.parse(a.body);
  } catch { /* not JSON */ }
  const code = typeof body?.error?.code === "string" ? body.error.code : null;
  const message = typeof body?.error?.message === "string" ? body.error.message : undefined;
  const observed = { status: a.status, code, ...(message !== undefined ? { message } : {}) };
  const key = a.status === 200 ? "200 ok" : `${a.status} ${code ?? "(http)"}`;
  if (a.status >= 500) {
    return v(
      "5xx",
      `${fam} ${a.status} ${code} ${normalise(server ?? message ?? a.body)}`,
      `status ${a.status}: ${a.body.slice(0, 300)}`,
      observed,
    );
  }
  if (a.status !== 200) {
    if (a.status < 400) {
      return v("unexpected-status", `${c.kind} ${a.status}`, `status ${a.status}`, observed);
    }
    if (code === null) {
      // The HTTP layer's own refusal of malformed framing has no JSON body.
      if (exp === "framing") return { key };
      return v(
        "not-json",
        `${c.kind} ${a.status}`,
        `status ${a.status} without a JSON error: ${a.body.slice(0, 200)}`,
        observed,
      );
    }
    if (!(code in ERROR_STATUS)) {
      return v("unknown-code", `${a.status} ${code}`, `unknown code ${code}`, observed);
    }
    const table = ERROR_STATUS[code as keyof typeof ERROR_STATUS];
    if (table !== a.status) {
      return v(
        "status-mismatch",
        `${code} ${a.status}`,
        `${code} is ${table} in the table, answered ${a.status}`,
        observed,
      );
    }
    if (message === undefined) return v("no-message", `${code}`, "error without a message", observed);
    if (STACK.test(message)) {
      return v("stack-trace", `${code} ${normalise(message)}`, `stack trace in: ${message}`, observed);
    }
  } else {
    const bad = okShape(c, body);
    if (bad) {
      return v("bad-ok-body", `${c.kind} ${bad}`, `200 with ${bad}: ${a.body.slice(0, 200)}`, observed);
    }
  }
  if (exp && exp !== "framing" && (exp.status !== a.status || exp.code !== code)) {
    return v(
      "oracle",
      `${c.kind} want ${exp.status} ${exp.code ?? "ok"} got ${a.status} ${code ?? "ok"}`,
      `expected ${exp.status} ${exp.code ?? "ok"}, got ${a.status} ${code ?? "ok"}: ${message ?? ""}`,
      observed,
    );
  }
  return { key };
}

/** What is wrong with a 200's body for its route, or undefined. */
function okShape(c: Case, body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return "no JSON";
  const path = (c.path ?? "/verify").split("?")[0];
  if (path === "/verify") {
    const p = body.probability;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) return "no probability in 0..1";
    if (typeof body.same !== "boolean") return "no same";
  } else if (path === "/embed") {
    const e = body.embedding;
    if (!Array.isArray(e) || e.length !== body.dims || !e.every(Number.isFinite)) {
      return "no finite embedding";
    }
  }
  return undefined;
}

/** A file name for a signature: lowercase words joined by "-", and a short hash against collisions. */
export function slug(signature: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < signature.length; i++) h = Math.imul(h ^ signature.charCodeAt(i), 16777619);
  const words = signature.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 80);
  return `${words.replace(/-$/, "")}-${(h >>> 0).toString(16).padStart(8, "0").slice(0, 6)}`;
}

/** A corpus entry (tests/fuzz/*.json): the case, its expected answer and, for a found bug, what was seen. */
export interface CorpusEntry {
  _note?: string;
  why: string;
  signature?: string;
  kind: string;
  path?: string;
  method?: string;
  headers: Record<string, string>;
  body?: string;
  base64?: string;
  /** The whole request for a raw socket, base64. */
  raw?: string;
  halfClose?: boolean;
  /** The answer to assert; null until a person has fixed the bug and filled it in. */
  expect: Exact | null;
  /** What was seen when it was found (before a fix). */
  observed?: Violation["observed"];
  /** The commit that fixed it, once fixed. */
  fixed?: string;
  found?: { seed?: number; case?: number; date: string; command?: string };
}

const NULL_EXPECT_NOTE =
  "expect is null: this case found a bug with no oracle; tests/fuzz_test.ts fails on it until someone fixes the bug and fills in expect {status, code} with the right answer.";

/** A case as a corpus entry. */
export function toEntry(
  c: Case,
  why: string,
  expect: Exact | null,
  extra: Partial<CorpusEntry> = {},
): CorpusEntry {
  const text = typeof c.body === "string" ? c.body : undefined;
  return {
    ...(expect === null ? { _note: NULL_EXPECT_NOTE } : {}),
    why,
    ...(extra.signature ? { signature: extra.signature } : {}),
    kind: c.kind,
    path: c.path ?? "/verify",
    ...(c.method && c.method !== "POST" ? { method: c.method } : {}),
    headers: c.headers,
    ...(c.raw
      ? { raw: c.raw.toBase64(), ...(c.halfClose ? { halfClose: true } : {}) }
      : text !== undefined
      ? { body: text }
      : { base64: (c.body as Uint8Array).toBase64() }),
    expect,
    ...extra,
  };
}

/** A corpus entry as a case. */
export function fromEntry(e: CorpusEntry): Case {
  return {
    kind: e.kind,
    path: e.path,
    method: e.method,
    headers: e.headers,
    body: e.base64 !== undefined ? Uint8Array.fromBase64(e.base64) : e.body ?? "",
    ...(e.raw ? { raw: Uint8Array.fromBase64(e.raw), halfClose: e.halfClose } : {}),
  };
}

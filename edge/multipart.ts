// multipart/form-data (RFC 7578), as `curl -F a=@x.jpg` and browsers send
// it, parsed from the whole body in place: parts are views into the body, not
// copies. Deno's Request.formData() and @remix-run/multipart-parser scan
// bytes in JavaScript and took 56 and 41 ms for a body of two 2.6 MB phone
// photos here; finding the boundary with the engine's native
// TypedArray.indexOf takes ~3 ms (docs/images.md).
import { ClientError } from "../shared/errors.ts";

export interface Part {
  /** Set when the part is a file (its Content-Disposition has a filename). */
  filename?: string;
  data: Uint8Array;
}

/** Parts per body at most: /verify needs three (a, b, threshold). */
const MAX_PARTS = 32;
/** Bytes of one part's headers at most. */
const MAX_HEADER_BYTES = 16 * 1024;

const enc = new TextEncoder(), dec = new TextDecoder();
/** The blank line that ends a part's headers. */
const HEADERS_END = enc.encode("\r\n\r\n");
const bad = (why: string) => new ClientError("bad_request", `Malformed multipart/form-data body: ${why}`);

/** First index of `needle` in `hay` at or after `from`, or -1. */
function find(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0], last = needle.length - 1;
  for (let i = hay.indexOf(first, from); i !== -1 && i + last < hay.length; i = hay.indexOf(first, i + 1)) {
    if (hay[i + last] !== needle[last]) continue;
    let j = 1;
    while (j < last && hay[i + j] === needle[j]) j++;
    if (j >= last) return i;
  }
  return -1;
}

/** One `; key=value` of a header value, the value quoted (with `\\` escapes) or not. */
const PARAM = /\s*;\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/y;

/**
 * A parameter of a header value (`form-data; name="a"; filename=x.png`),
 * unquoted; undefined if absent. Parameters are read in order from the first
 * `;`, each whole, so `name=` inside a quoted filename is part of the filename.
 * The first of a repeated key counts; reading stops at anything malformed.
 */
function param(value: string, key: string): string | undefined {
  const start = value.indexOf(";");
  if (start < 0) return undefined;
  PARAM.lastIndex = start;
  for (let m; (m = PARAM.exec(value));) {
    if (m[1].toLowerCase() === key) return m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim();
  }
  return undefined;
}

/**
 * The boundary of a multipart Content-Type header.
 * Throws ClientError("bad_request") when it has none.
 */
export function boundaryOf(contentType: string): string {
  const b = param(contentType, "boundary");
  if (!b || b.length > 200) throw bad("no boundary in its Content-Type");
  return b;
}

/**
 * Parse a whole multipart/form-data body into parts by field name, in order.
 * Throws ClientError("bad_request") for anything malformed or truncated.
 *
 * @example
 * ```ts
 * const form = new FormData();
 * form.append("a", new File([Uint8Array.of(1, 2, 3)], "a.png"));
 * const req = new Request("http://localhost/verify", { method: "POST", body: form });
 * const type = req.headers.get("content-type")!;
 * const parts = parseMultipart(new Uint8Array(await req.arrayBuffer()), boundaryOf(type));
 * if (parts.get("a")?.[0].data.length !== 3) throw new Error("the file's bytes");
 * ```
 */
export function parseMultipart(body: Uint8Array, boundary: string): Map<string, Part[]> {
  const delim = enc.encode(`\r\n--${boundary}`);
  const out = new Map<string, Part[]>();
  // The first delimiter may open the body (no CRLF before it) or follow a preamble.
  const opening = enc.encode(`--${boundary}`);
  const opens = opening.every((v, i) => body[i] === v);
  let at = opens ? 0 : find(body, delim, 0);
  if (at < 0) throw bad("no opening boundary");
  if (!opens) at += 2;
  for (let count = 0;; count++) {
    at += opening.length;
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return out; // "--": the closing delimiter
    while (body[at] === 0x20 || body[at] === 0x09) at++; // transport padding
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw bad("a boundary is not followed by a line break");
    if (count >= MAX_PARTS) throw bad(`more than ${MAX_PARTS} parts`);
    const headEnd = find(body.subarray(at, at + MAX_HEADER_BYTES + 4), HEADERS_END, 0);
    if (headEnd < 0) throw bad("a part's headers do not end");
    const headers = dec.decode(body.subarray(at + 2, at + headEnd)).split("\r\n");
    const disposition = headers.find((h) => /^content-disposition\s*:/i.test(h))?.replace(/^[^:]*:/, "");
    const name = disposition && /^\s*form-data\b/i.test(disposition) ? param(disposition, "name") : undefined;
    if (name === undefined) throw bad("a part has no Content-Disposition: form-data name");
    const start = at + headEnd + 4, end = find(body, delim, start);
    if (end < 0) throw bad("it ends before its closing boundary");
    const filename = param(disposition!, "filename") ??
      (param(disposition!, "filename*") !== undefined ? "" : undefined);
    const list = out.get(name) ?? [];
    list.push({ filename, data: body.subarray(start, end) });
    out.set(name, list);
    at = end + 2;
  }
}

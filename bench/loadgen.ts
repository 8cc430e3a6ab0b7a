// What the benchmarks and the load test send: request bodies for autocannon
// and one timed autocannon run.
import autocannon from "autocannon";
import { Buffer } from "node:buffer";

export const BOUNDARY = "SiAmEsE";

/**
 * A multipart/form-data body (boundary BOUNDARY) of PNG files, one per
 * field, as `curl -F a=@a.png -F b=@b.png` sends them. Bytes, not a string:
 * autocannon sends a string's characters as UTF-8, which corrupts binary.
 */
export function pngForm(files: Record<string, Uint8Array>): Buffer {
  const enc = new TextEncoder();
  return Buffer.concat([
    ...Object.entries(files).flatMap(([field, bytes]) => [
      enc.encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${field}.png"\r\n` +
          "Content-Type: image/png\r\n\r\n",
      ),
      bytes,
      enc.encode("\r\n"),
    ]),
    enc.encode(`--${BOUNDARY}--\r\n`),
  ]);
}

export const FORM_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** The two images of a /verify as fields a and b of a FormData (for fetch), both of `type`. */
export function pairForm(a: Uint8Array, b: Uint8Array, type: string): FormData {
  const f = new FormData();
  f.append("a", new Blob([a as Uint8Array<ArrayBuffer>], { type }), "a");
  f.append("b", new Blob([b as Uint8Array<ArrayBuffer>], { type }), "b");
  return f;
}

/**
 * Requests number `from` to `until - 1`, from `loops` concurrent loops (one
 * keep-alive connection each): `send(k)` makes request k; every body is read whole.
 */
export async function sendRange(
  from: number,
  until: number,
  send: (k: number) => Promise<Response>,
  loops = 8,
) {
  let next = from;
  await Promise.all(Array.from({ length: loops }, async () => {
    while (next < until) await (await send(next++)).arrayBuffer();
  }));
}

export interface Run {
  rps: number;
  p50: number;
  p99: number;
}

/** autocannon at `connections` for `seconds` against url; throws on any non-2xx answer or socket error. */
export async function cannon(
  url: string,
  req: { method: "GET" | "POST"; body?: string | Buffer; headers?: Record<string, string> },
  connections = 32,
  seconds = 10,
): Promise<Run> {
  // deno-lint-ignore no-explicit-any
  const r: any = await autocannon({ url, connections, duration: seconds, ...req });
  if (r.non2xx || r.errors) throw new Error(`${req.method} ${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/** The first line of what the server sends on `conn` next (its status line), or `closed` when it sends nothing. */
export async function statusLine(conn: Deno.Conn, closed = "closed"): Promise<string> {
  const buf = new Uint8Array(256);
  const n = await conn.read(buf).catch(() => null);
  return n ? new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0] : closed;
}

/**
 * `n` uploads that stall: each connection sends the headers of a multipart
 * POST /verify declaring `declared` bytes, then `sent` bytes of its body, and
 * no more. `answers` resolves, for each, with the status line the server
 * answered with ("closed" when it closed without one); `close()` drops them.
 */
export async function stalledUploads(base: string, n: number, declared: number, sent: number) {
  const { hostname, port } = new URL(base);
  const head = new TextEncoder().encode(
    `POST /verify HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: ${FORM_TYPE}\r\n` +
      `content-length: ${declared}\r\n\r\n`,
  );
  const body = new Uint8Array(sent).fill(0x41);
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await Deno.connect({ hostname, port: Number(port) });
    conns.push(c);
    await c.write(head);
    // The server may already have answered (503 overloaded) and closed: that write fails.
    for (let at = 0; at < sent;) at += await c.write(body.subarray(at)).catch(() => sent);
  }
  const answers = Promise.all(conns.map((c) => statusLine(c)));
  return { answers, close: () => conns.forEach((c) => c.close()) };
}

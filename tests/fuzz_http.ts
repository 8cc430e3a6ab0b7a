// A minimal HTTP/1.1 client on a raw TCP socket for the fuzz campaign: it
// writes exactly the bytes a case holds (bad chunk sizes, lying
// Content-Length, obs-text headers, which fetch() would refuse or fix) and
// reads one answer at a time on a keep-alive connection.
import { type Case, cat } from "./hostile.ts";

/** One answer; status 0: the connection closed (or was reset) before a whole answer came. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The per-request deadline passed. */
export class Timeout extends Error {
  constructor(ms: number) {
    super(`no answer in ${ms} ms`);
    this.name = "Timeout";
  }
}

const enc = new TextEncoder(), dec = new TextDecoder();

/** The request line, headers (Content-Length added unless the case frames its body itself) and body of a case. */
export function requestBytes(c: Case): Uint8Array {
  if (c.raw) return c.raw;
  const method = c.method ?? "POST";
  const body = typeof c.body === "string" ? enc.encode(c.body) : c.body;
  const lines = [`${method} ${c.path ?? "/verify"} HTTP/1.1`, "host: fuzz"];
  for (const [k, v] of Object.entries(c.headers)) lines.push(`${k}: ${v}`);
  const framed = Object.keys(c.headers).some((k) => /^(content-length|transfer-encoding)$/i.test(k));
  const bodyless = (method === "GET" || method === "HEAD") && body.length === 0;
  if (!framed && !bodyless) {
    lines.push(`content-length: ${body.length}`);
  }
  return cat(enc.encode(`${lines.join("\r\n")}\r\n\r\n`), body);
}

/** Index of "\r\n\r\n" in b[from..), or -1. */
function headEnd(b: Uint8Array, from = 0): number {
  for (let i = b.indexOf(13, from); i >= 0 && i + 3 < b.length; i = b.indexOf(13, i + 1)) {
    if (b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** A keep-alive connection that sends one request at a time. */
export class Conn {
  /** Unusable after this request (closed by either side, or a write left unfinished). */
  dead = false;
  /** Requests answered on it. */
  used = 0;
  #buf = new Uint8Array(0);
  #scratch = new Uint8Array(64 * 1024);
  #received = 0;

  private constructor(private conn: Deno.TcpConn) {}

  static async open(port: number): Promise<Conn> {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.setNoDelay(true);
    return new Conn(c);
  }

  close() {
    if (this.dead && this.#closed) return;
    this.dead = true;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
  #closed = false;

  /** Bytes received for the last request (0: the peer closed without a word: a stale keep-alive connection). */
  get received() {
    return this.#received;
  }

  /**
   * Send `bytes` and read one answer (skipping 1xx). `halfClose` shuts the
   * write side after the request, so a server waiting for more body sees
   * its end. Throws Timeout (and closes the connection) after `ms`.
   */
  async exchange(bytes: Uint8Array, ms: number, halfClose = false): Promise<Answer> {
    this.#received = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(ms)), ms);
    });
    let written = false;
    const writing = this.#writeAll(bytes)
      .then(() => (halfClose ? this.conn.closeWrite() : undefined))
      .then(() => (written = true), () => (this.dead = true));
    try {
      const answer = await Promise.race([this.#answer(), deadline]);
      // The server may answer before reading the whole body (413): give the write a moment, else drop the connection.
      if (!written) await Promise.race([writing, new Promise((r) => setTimeout(r, 50))]);
      if (!written || halfClose || answer.status === 0 || /close/i.test(answer.headers.connection ?? "")) {
        this.close();
      }
      this.used++;
      return answer;
    } catch (e) {
      this.close();
      throw e;
    } finally {
      clearTimeout(timer);
      writing.catch(() => {});
    }
  }

  async #writeAll(b: Uint8Array) {
    for (let o = 0; o < b.length;) o += await this.conn.write(b.subarray(o));
  }

  /** Read more bytes into the buffer; false at the end of the stream (or a reset). */
  async #fill(): Promise<boolean> {
    let n: number | null;
    try {
      n = await this.conn.read(this.#scratch);
    } catch {
      n = null;
    }
    if (n === null) {
      this.dead = true;
      return false;
    }
    this.#received += n;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(this.#scratch.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  async #answer(): Promise<Answer> {
    const closed: Answer = { status: 0, headers: {}, body: "" };
    for (;;) {
      let end: number;
      while ((end = headEnd(this.#buf)) < 0) if (!(await this.#fill())) return closed;
      const [statusLine, ...lines] = dec.decode(this.#take(end + 4)).slice(0, -4).split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
      if (!Number.isFinite(status)) return closed;
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (status >= 100 && status < 200) continue; // 100 Continue: the answer follows
      let body: Uint8Array;
      if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
        const parts: Uint8Array[] = [];
        for (;;) {
          let eol: number;
          while ((eol = this.#buf.indexOf(10)) < 0) if (!(await this.#fill())) return closed;
          const size = parseInt(dec.decode(this.#take(eol + 1)), 16);
          if (!Number.isFinite(size)) return closed;
          while (this.#buf.length < size + 2) if (!(await this.#fill())) return closed;
          parts.push(this.#take(size).slice());
          this.#take(2);
          if (size === 0) break;
        }
        body = cat(...parts);
      } else if (headers["content-length"] !== undefined) {
        const n = Number(headers["content-length"]);
        while (this.#buf.length < n) if (!(await this.#fill())) return closed;
        body = this.#take(n);
      } else if (status === 204 || status === 304) {
        body = new Uint8Array(0);
      } else {
        while (await this.#fill()) { /* to the end of the stream */ }
        body = this.#take(this.#buf.length);
        this.dead = true;
      }
      return { status, headers, body: dec.decode(body) };
    }
  }
}

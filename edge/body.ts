// A request body read whole into one buffer, grown by doubling as bytes
// arrive (from FIRST_BYTES, never past its Content-Length or the body limit),
// so a client holds memory in proportion to what it has sent. Over the limit
// is 413 body_too_large (at once when Content-Length says so). Two guards
// against slow and stalled clients: a body must arrive whole within a
// deadline (else 408 request_timeout), and every buffer the bodies being
// read have needed, held until their requests are answered, stays under a
// budget that edge/main.ts's isolates share (else 503 overloaded). A body's first FIRST_BYTES do not draw on the budget:
// small requests (JSON, a PNG) are answered even while hundreds of uploads
// stall at the body limit.
import { ClientError } from "../shared/errors.ts";

/** The first buffer, at most (a stalled client may never send what its Content-Length says). */
const FIRST_BYTES = 64 * 1024;

/**
 * Bytes reserved for request bodies across the process: a counter in shared
 * memory (KiB), so every isolate draws from one budget.
 *
 * @example
 * ```ts
 * const budget = new BodyBudget(2048);
 * const lease = budget.lease();
 * if (!lease.take(1500) || lease.take(1500)) throw new Error("the second 1500 bytes pass the cap");
 * lease.release();
 * if (budget.inUse() !== 0) throw new Error("released");
 * ```
 */
export class BodyBudget {
  readonly #kib: Int32Array;
  constructor(readonly maxBytes: number, readonly buffer = new SharedArrayBuffer(4)) {
    this.#kib = new Int32Array(buffer);
  }
  /** Bytes reserved now. */
  inUse(): number {
    return Atomics.load(this.#kib, 0) * 1024;
  }
  /** A request's share: what it takes is given back at once by `release()`. */
  lease(): BodyLease {
    let held = 0;
    const kib = this.#kib, cap = Math.floor(this.maxBytes / 1024);
    return {
      take(bytes: number) {
        const k = Math.ceil(bytes / 1024);
        if (Atomics.add(kib, 0, k) + k > cap) {
          Atomics.sub(kib, 0, k);
          return false;
        }
        held += k;
        return true;
      },
      release() {
        Atomics.sub(kib, 0, held);
        held = 0;
      },
    };
  }
}

/** One request's reservation from a BodyBudget. */
export interface BodyLease {
  /** Reserve `bytes` more; false (nothing taken) when that would pass the budget. */
  take(bytes: number): boolean;
  /** Give back everything taken. */
  release(): void;
}

/** How a body is read: its size limit, by when it must have arrived, and the budget its buffer draws on. */
export interface BodyOptions {
  maxBytes: number;
  /** performance.now() by which the whole body must have arrived. */
  deadline: number;
  lease?: BodyLease;
}

/**
 * Bodies being read, each with its deadline: one timer for them all (a
 * quarter-second sweep while any is waiting), not one per request.
 */
const waiting = new Set<{ deadline: number; expire: () => void }>();
let sweeper: ReturnType<typeof setInterval> | undefined;
function sweep() {
  const now = performance.now();
  for (const w of waiting) {
    if (now >= w.deadline) {
      w.expire(); // its readBody's finally removes it and stops the sweep when none is left
    }
  }
}

/** The body's bytes (empty without a body); throws ClientError body_too_large, request_timeout or overloaded. */
export async function readBody(req: Request, opts: BodyOptions): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const n = Number(req.headers.get("content-length"));
  const declared = Number.isSafeInteger(n) && n > 0 ? n : 0;
  const tooLarge = () => new ClientError("body_too_large", `Request body exceeds ${opts.maxBytes} bytes`);
  if (declared > opts.maxBytes) throw tooLarge();
  const reader = req.body.getReader();
  const watch = { deadline: opts.deadline, expire: () => {} };
  const late = new Promise<never>((_, reject) => {
    watch.expire = () =>
      reject(new ClientError("request_timeout", "The request body did not arrive in time"));
  });
  waiting.add(watch);
  sweeper ??= setInterval(sweep, 250); // cleared when no body is waiting
  let allocated = 0;
  const alloc = (bytes: number) => {
    const over = (n: number) => Math.max(0, n - FIRST_BYTES);
    if (opts.lease && !opts.lease.take(over(allocated + bytes) - over(allocated))) {
      throw new ClientError("overloaded", "Too many uploads in progress; retry shortly");
    }
    allocated += bytes;
    return new Uint8Array(bytes);
  };
  try {
    let buf = alloc(Math.min(declared || FIRST_BYTES, FIRST_BYTES)), len = 0;
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), late]);
      if (done) return buf.subarray(0, len);
      if (len + value.length > opts.maxBytes) throw tooLarge();
      if (len + value.length > buf.length) {
        const want = Math.min(Math.max(2 * buf.length, len + value.length), opts.maxBytes);
        const grown = alloc(declared >= len + value.length ? Math.min(want, declared) : want);
        grown.set(buf.subarray(0, len));
        buf = grown;
      }
      buf.set(value, len);
      len += value.length;
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    if (e instanceof ClientError) throw e;
    // The stream itself failed: a malformed chunked body, or a client gone mid-upload.
    throw new ClientError("bad_request", "The request body could not be read: malformed or cut short");
  } finally {
    waiting.delete(watch);
    if (!waiting.size) sweeper = void clearInterval(sweeper);
  }
}

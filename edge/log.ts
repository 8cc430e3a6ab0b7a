// The request log: one JSON line per request on stdout, written in batches
// (at most every 100 ms, or at 64 KiB) so that thousands of requests a second
// do not each wait on a write. Never the images, never the Authorization
// header: only what the entry's fields name.

export interface LogEntry {
  time: string;
  request_id: string;
  method: string;
  route: string;
  status: number;
  /** The error's stable code, for answers that are errors. */
  code?: string;
  decode_ms?: number;
  infer_ms?: number;
  ms: number;
  /** Request body bytes as declared (Content-Length), and the answer's bytes where known. */
  bytes_in?: number;
  bytes_out?: number;
}

/** A writer of log lines to `out` (default stdout), batched. */
export function requestLog(out: { write(b: Uint8Array): Promise<number> } = Deno.stdout) {
  const enc = new TextEncoder();
  let lines: string[] = [], size = 0, timer: ReturnType<typeof setTimeout> | undefined;
  const flush = async () => {
    timer = undefined;
    if (!lines.length) return;
    const chunk = enc.encode(lines.join(""));
    lines = [];
    size = 0;
    for (let at = 0; at < chunk.length;) at += await out.write(chunk.subarray(at));
  };
  return {
    write(e: LogEntry) {
      const line = JSON.stringify(e) + "\n";
      lines.push(line);
      size += line.length;
      if (size >= 65536) flush();
      else if (timer === undefined) {
        const t = setTimeout(flush, 100);
        Deno.unrefTimer(t); // a pending line does not keep the process up; drains flush
        timer = t;
      }
    },
    flush,
  };
}
export type RequestLog = ReturnType<typeof requestLog>;

// A request body read whole into one buffer, sized by its Content-Length (up
// to FIRST_BYTES at first) and grown by doubling past it. With
// Request.arrayBuffer() a Deno server stood at 618 MiB RSS after 80 two-photo
// uploads (5.2 MB each) at concurrency 4; reading this way, at 127 MiB
// (docs/images.md). Limits are bodyLimit's (edge/app.ts), which runs first.

/** At most this much is reserved up front, whatever Content-Length says (a stalled client may never send it). */
const FIRST_BYTES = 4 * 1024 * 1024;

/** The body's bytes (empty without a body). */
export async function readBody(req: Request): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const n = Number(req.headers.get("content-length"));
  const declared = Number.isSafeInteger(n) && n > 0 ? n : 0;
  let buf = new Uint8Array(Math.min(declared || 64 * 1024, FIRST_BYTES)), len = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return buf.subarray(0, len);
    if (len + value.length > buf.length) {
      const want = Math.max(2 * buf.length, len + value.length);
      const grown = new Uint8Array(declared >= len + value.length ? Math.min(want, declared) : want);
      grown.set(buf.subarray(0, len));
      buf = grown;
    }
    buf.set(value, len);
    len += value.length;
  }
}

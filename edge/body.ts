// A request body read whole into one buffer, sized by its Content-Length and
// grown by doubling without one. Request.arrayBuffer() under Deno left the
// server at 618 MiB RSS after 80 two-photo uploads (5.2 MB each) at
// concurrency 4; this, at 127 MiB (docs/images.md). Limits are bodyLimit's
// (edge/app.ts), which runs first.

/** The body's bytes (empty without a body). */
export async function readBody(req: Request): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const declared = Number(req.headers.get("content-length"));
  let buf = new Uint8Array(Number.isSafeInteger(declared) && declared > 0 ? declared : 64 * 1024), len = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return buf.subarray(0, len);
    if (len + value.length > buf.length) {
      const grown = new Uint8Array(Math.max(2 * buf.length, len + value.length));
      grown.set(buf.subarray(0, len));
      buf = grown;
    }
    buf.set(value, len);
    len += value.length;
  }
}

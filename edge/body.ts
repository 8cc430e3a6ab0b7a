// Reads a request body up to a byte limit: refused from Content-Length when
// declared, else counted while streaming and cut off at the limit. (Hono's
// bodyLimit rebuilds the Request around the buffered body, which under Deno
// 2.9 retained ~700 bytes per request: a leak found by the memory benchmark.)
import { ClientError } from "../shared/errors.ts";

export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ClientError("body_too_large", `Request body exceeds ${max} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError("bad_request", "Cannot read the request body (connection closed?)");
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

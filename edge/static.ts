// The page's files served as a production site serves them: an ETag on each
// (SHA-256 of the bytes; If-None-Match gets a bodiless 304), brotli or gzip
// where the client accepts it and it saves at least a tenth, `no-cache`
// (revalidate each time) for files whose URL does not change with their
// content and a year `immutable` for those whose URL does (the weights, at
// /weights/<their SHA-256>.bin), and a Content-Security-Policy for the page
// that allows its own inline import map and style by hash and nothing from
// elsewhere. Everything is prepared on the file's first request, once.
import type { Context } from "hono";

export interface Asset {
  readonly body: Uint8Array;
  type: string;
}

interface Prepared {
  etag: string;
  identity: Uint8Array;
  br?: Uint8Array;
  gzip?: Uint8Array;
  csp?: string;
}

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (b: ArrayBuffer) => new Uint8Array(b).toBase64();
const sha256 = (bytes: Uint8Array) => crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);

/** Text types, JavaScript, JSON and the weights (as bytes): worth trying to compress. */
const compressible = (type: string) => /^text\/|javascript|json|octet-stream/.test(type);

/** The page's CSP: its inline <script type="importmap"> and <style> blocks allowed by hash. */
async function pageCsp(html: string): Promise<string> {
  const hashes = async (re: RegExp) =>
    (await Promise.all(
      [...html.matchAll(re)].map(async (m) =>
        `'sha256-${b64(await sha256(new TextEncoder().encode(m[1])))}'`
      ),
    ))
      .join(" ");
  const scripts = await hashes(/<script type="importmap">([\s\S]*?)<\/script>/g);
  const styles = await hashes(/<style>([\s\S]*?)<\/style>/g);
  return [
    "default-src 'self'",
    `script-src 'self' ${scripts}`,
    `style-src 'self' ${styles}`,
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

async function prepare(asset: Asset, page: boolean): Promise<Prepared> {
  const identity = asset.body;
  const p: Prepared = { etag: `"${hex(await sha256(identity)).slice(0, 32)}"`, identity };
  if (compressible(asset.type)) {
    // node:zlib is imported here, on the first static request: its Node
    // compatibility layer costs ~70 ms, which a cold start should not pay.
    const zlib = await import("node:zlib");
    const worth = (c: Uint8Array) => (c.length <= 0.9 * identity.length ? c : undefined);
    // Brotli at quality 5, not its default 11: compression runs on this
    // isolate's thread (node:zlib's async API too), and quality 11 held
    // TF.js's 1.1 MB bundle for 2.8 s against ~80 ms, for 216 KB against 243 KB.
    const quality = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } };
    p.br = worth(new Uint8Array(zlib.brotliCompressSync(identity, quality)));
    p.gzip = worth(new Uint8Array(zlib.gzipSync(identity)));
  }
  if (page) p.csp = await pageCsp(new TextDecoder().decode(identity));
  return p;
}

/**
 * A handler for one static file. `immutable`: its URL names its content, so
 * clients may keep it a year without asking again.
 */
/** Each file prepared once, however many routes serve it (the weights have two). */
const prepared = new WeakMap<Asset, Promise<Prepared>>();

export function staticFile(asset: Asset, opts: { immutable?: boolean; page?: boolean } = {}) {
  return async (c: Context) => {
    let ready = prepared.get(asset);
    if (!ready) prepared.set(asset, ready = prepare(asset, opts.page ?? false));
    const p = await ready;
    const headers: Record<string, string> = {
      etag: p.etag,
      "cache-control": opts.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "accept-encoding",
    };
    if (p.csp) headers["content-security-policy"] = p.csp;
    const match = c.req.header("if-none-match")?.split(",").map((t) => t.trim().replace(/^W\//, ""));
    if (match?.includes(p.etag) || match?.includes("*")) return c.body(null, 304, headers);
    const accepts = (enc: string) =>
      (c.req.header("accept-encoding") ?? "").split(",").some((e) => {
        const [name, ...params] = e.trim().split(";");
        return name === enc && !params.some((q) => /^\s*q=0(\.0*)?\s*$/.test(q));
      });
    const [body, encoding] = p.br && accepts("br")
      ? [p.br, "br"]
      : p.gzip && accepts("gzip")
      ? [p.gzip, "gzip"]
      : [p.identity, undefined];
    if (encoding) headers["content-encoding"] = encoding;
    headers["content-type"] = asset.type;
    return c.body(body as Uint8Array<ArrayBuffer>, 200, headers);
  };
}

// deno task bench:page: the bytes a browser downloads for the demo page, on a
// first visit and on a repeat visit, from the real server over loopback: as
// served (brotli/gzip, ETag revalidation, the weights immutable at their
// SHA-256) against the same files sent whole every time (what a server
// without compression or validators sends).
import { spawnServer } from "../edge/spawn.ts";

const { child, base } = await spawnServer({ env: { REQUEST_LOG: "off" } });
const model = await (await fetch(`${base}/weights/model.json`)).json();
const sha = Object.values(model.userDefinedMetadata.files as Record<string, { sha256: string }>)[0].sha256;
const files = ["/", "/page/app.js", "/vendor/tf.fesm.min.js", "/weights/model.json", `/weights/${sha}.bin`];
const browser = { "accept-encoding": "gzip, deflate, br, zstd" };

/** One GET over a raw connection: status, headers and the body's size on the wire. */
async function get(path: string, headers: Record<string, string>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${head}\r\n`),
  );
  const all = new Uint8Array(await new Response(conn.readable).arrayBuffer()); // to the server's close
  const text = new TextDecoder("latin1").decode(all.subarray(0, 65536)), end = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, end).split("\r\n");
  const h = new Map(
    lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status: Number(lines[0].split(" ")[1]), headers: h, body: all.length - end - 4 };
}

/** A visit: every file the page loads, revalidated or skipped as `cache` says; bytes of the bodies received. */
async function visit(
  cache: Map<string, { etag: string; immutable: boolean }> | undefined,
  headers: Record<string, string>,
) {
  let bytes = 0, requests = 0;
  for (const f of files) {
    const known = cache?.get(f);
    if (known?.immutable) continue; // a browser does not ask again
    const r = await get(f, { ...headers, ...(known ? { "if-none-match": known.etag } : {}) });
    bytes += r.body;
    requests++;
    cache?.set(f, {
      etag: r.headers.get("etag") ?? "",
      immutable: /immutable/.test(r.headers.get("cache-control") ?? ""),
    });
  }
  return { bytes, requests };
}

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const cache = new Map<string, { etag: string; immutable: boolean }>();
const first = await visit(cache, browser), repeat = await visit(cache, browser);
const whole = await visit(undefined, { "accept-encoding": "identity" });
console.log(
  `demo page, first visit: ${kib(first.bytes)} in ${first.requests} requests (sent whole: ${
    kib(whole.bytes)
  })`,
);
console.log(
  `demo page, repeat visit: ${
    kib(repeat.bytes)
  } in ${repeat.requests} requests, the weights not asked for (sent whole: ${kib(whole.bytes)} again)`,
);
child.kill("SIGTERM");
await child.status;

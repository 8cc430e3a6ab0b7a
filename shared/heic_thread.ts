// HEIC decoding on a worker: libheif decodes HEVC in WebAssembly on one
// thread (~0.9 s for 12 MP here), which on the serving isolate would stall
// every other request. One worker, started on the first HEIC and stopped
// after IDLE_MS without one, which also hands its WebAssembly memory (it
// only grows) back to the system. Where workers cannot start, decodes inline.
import { decodeHeicLuma } from "./heic.ts";
import { checkSize, type ImageLimits, type Raw8 } from "./image.ts";
import { ClientError, type ClientErrorCode } from "./errors.ts";
import type { HeicJob } from "./heic_worker.ts";

const IDLE_MS = 10_000;

type Reply = { id: number; raw?: Raw8; code?: ClientErrorCode; message?: string };
type Pending = { resolve: (r: Raw8) => void; reject: (e: Error) => void };

let worker: Worker | undefined, noWorkers = false, nextId = 0, idle: ReturnType<typeof setTimeout> | undefined;
const pending = new Map<number, Pending>();

/** Stop the decoder worker now (a script that is done; a live worker keeps Deno running). */
export function stopHeicDecoder(): void {
  clearTimeout(idle);
  worker?.terminate();
  worker = undefined;
}

function start(): Worker | undefined {
  if (worker || noWorkers) return worker;
  try {
    worker = new Worker(new URL("./heic_worker.ts", import.meta.url).href, { type: "module" });
  } catch {
    noWorkers = true;
    return undefined;
  }
  worker.onmessage = ({ data: { id, raw, code, message } }: MessageEvent<Reply>) => {
    const p = pending.get(id);
    pending.delete(id);
    if (raw) p?.resolve(raw);
    else p?.reject(code ? new ClientError(code, message!) : new Error(message));
    if (pending.size === 0) {
      idle = setTimeout(stopHeicDecoder, IDLE_MS);
      Deno.unrefTimer(idle as unknown as number); // an idle decoder does not keep a script alive
    }
  };
  worker.onerror = (e) => {
    // A worker that dies (its WebAssembly aborted, or it ran out of memory)
    // fails its jobs; the next HEIC starts a new one.
    e.preventDefault();
    stopHeicDecoder();
    for (const p of pending.values()) p.reject(new Error("the HEIC decoder failed on this file"));
    pending.clear();
  };
  return worker;
}

/**
 * Decode a HEIC file's primary image to its luma plane (see shared/heic.ts),
 * refusing a declared size over `limits` (ClientError image_too_large).
 */
export function decodeHeicOffThread(bytes: Uint8Array, name: string, limits: ImageLimits): Promise<Raw8> {
  const w = start();
  if (!w) return decodeHeicLuma(bytes, (x, y) => checkSize(x, y, name, limits));
  clearTimeout(idle);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const job: HeicJob = { id, bytes: bytes.slice(), name, limits };
    w.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
  });
}

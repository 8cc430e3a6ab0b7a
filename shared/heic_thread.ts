// HEIC decoding on a worker: libheif decodes HEVC in WebAssembly on one
// thread (~0.45 s for 12 MP here), which on the serving isolate would stall
// every other request. One worker, started on the first HEIC and stopped
// after IDLE_MS without one, which also hands its WebAssembly memory (it
// only grows) back to the system. Where a worker cannot start (no Worker, no
// permission to read its module), decodes inline.
import { decodeHeicLuma } from "./heic.ts";
import { checkSize, type ImageLimits, type Raw8 } from "./image.ts";
import { ClientError, type ClientErrorCode } from "./errors.ts";
import type { HeicJob } from "./heic_worker.ts";

const IDLE_MS = 10_000;

type Reply = { ready?: true; id: number; raw?: Raw8; code?: ClientErrorCode; message?: string };
type Pending = { resolve: (r: Raw8) => void; reject: (e: Error) => void };

let worker: Promise<Worker | undefined> | undefined, noWorkers = false, nextId = 0;
let idle: ReturnType<typeof setTimeout> | undefined;
const pending = new Map<number, Pending>();

/**
 * Stop the decoder worker now (a script that is done: a live worker keeps Deno running).
 *
 * @example
 * ```ts
 * import { decodeHeicOffThread, stopHeicDecoder } from "./heic_thread.ts";
 * import { DEFAULT_IMAGE_LIMITS } from "./image.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.heic", import.meta.url));
 * await decodeHeicOffThread(bytes, "a", DEFAULT_IMAGE_LIMITS);
 * stopHeicDecoder(); // the script can end now; the next HEIC would start a new worker
 * ```
 */
export function stopHeicDecoder(): void {
  clearTimeout(idle);
  worker?.then((w) => w?.terminate());
  worker = undefined;
}

/** The worker once it has said it is ready, or undefined if it cannot start. */
function start(): Promise<Worker | undefined> {
  if (noWorkers) return Promise.resolve(undefined);
  return worker ??= new Promise((resolve) => {
    let w: Worker, ready = false;
    try {
      w = new Worker(new URL("./heic_worker.ts", import.meta.url).href, { type: "module" });
    } catch {
      noWorkers = true;
      return resolve(undefined);
    }
    w.onmessage = ({ data: { ready: hello, id, raw, code, message } }: MessageEvent<Reply>) => {
      if (hello) {
        ready = true;
        return resolve(w);
      }
      const p = pending.get(id);
      pending.delete(id);
      if (raw) p?.resolve(raw);
      else p?.reject(code ? new ClientError(code, message!) : new Error(message));
      if (pending.size === 0) {
        idle = setTimeout(stopHeicDecoder, IDLE_MS);
        Deno.unrefTimer(idle as unknown as number); // an idle decoder does not keep a script alive
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      worker = undefined;
      if (!ready) {
        noWorkers = true; // it never started: it never will
        return resolve(undefined);
        // deno-coverage-ignore-start -- only if the worker's isolate dies after starting (out of memory): heic_worker.ts catches and posts back every error a decode throws
      }
      // It died on a file (its WebAssembly aborted or ran out of memory): fail
      // that file's jobs; the next HEIC starts a new worker.
      for (const p of pending.values()) p.reject(new Error("the HEIC decoder failed on this file"));
      pending.clear();
      // deno-coverage-ignore-stop
    };
  });
}

/**
 * Decode a HEIC file's primary image to its luma plane (see shared/heic.ts),
 * refusing a declared size over `limits` (ClientError image_too_large).
 *
 * @example
 * ```ts
 * import { decodeHeicOffThread, stopHeicDecoder } from "./heic_thread.ts";
 * import { DEFAULT_IMAGE_LIMITS } from "./image.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.heic", import.meta.url));
 * const luma = await decodeHeicOffThread(bytes, "a", DEFAULT_IMAGE_LIMITS);
 * const tiny = await decodeHeicOffThread(bytes, "b", { maxSide: 16, maxPixels: 256 }).catch((e) => e);
 * stopHeicDecoder();
 * if (luma.channels !== 1 || tiny.code !== "image_too_large") throw new Error("limits not applied");
 * ```
 */
export async function decodeHeicOffThread(
  bytes: Uint8Array,
  name: string,
  limits: ImageLimits,
): Promise<Raw8> {
  const w = await start();
  if (!w) return decodeHeicLuma(bytes, (x, y) => checkSize(x, y, name, limits));
  clearTimeout(idle);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const job: HeicJob = { id, bytes: bytes.slice(), name, limits };
    w.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
  });
}

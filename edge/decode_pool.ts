// A small pool of decode workers (edge/decode_worker.ts). Large images go to
// the least busy worker so a request's two images decode in parallel; small
// ones stay inline, where a message round trip would cost more than decoding.
import { ClientError, type ClientErrorCode } from "../shared/errors.ts";
import { decodeImage, type ImageLimits } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";
import type { DecodeJob } from "./decode_worker.ts";

/** Images of at most this many bytes are decoded inline. */
const INLINE_BYTES = 16 * 1024;

export interface DecodePool {
  /** Bytes of a PNG/JPEG -> MNIST-like Float32Array(784), or a ClientError. */
  toMnist(bytes: Uint8Array, field: string, limits: ImageLimits): Promise<Float32Array>;
  close(): void;
}

type Pending = { resolve: (x: Float32Array) => void; reject: (e: Error) => void };
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Set by the worker's first message; a worker that fails before it never gets jobs. */
  ready: boolean;
}
type Reply = { ready?: true; id: number; ok: boolean; x?: Float32Array; code?: string; message?: string };

/**
 * `size` workers. If a worker cannot start (no Worker support, or no read
 * permission for its module) the pool decodes inline instead; a worker that
 * dies after starting (e.g. out of memory) fails its jobs and is replaced.
 */
export function createDecodePool(size: number): DecodePool {
  let nextId = 0;
  const slots: Slot[] = [];
  const spawn = () => {
    let worker: Worker;
    try {
      worker = new Worker(new URL("./decode_worker.ts", import.meta.url).href, { type: "module" });
    } catch (e) {
      console.warn(`decode pool: no worker (${(e as Error).message}); decoding inline`);
      return;
    }
    const slot: Slot = { worker, pending: new Map(), ready: false };
    worker.onmessage = (e: MessageEvent<Reply>) => {
      if (e.data.ready) return void (slot.ready = true);
      const p = slot.pending.get(e.data.id);
      slot.pending.delete(e.data.id);
      if (e.data.ok) p?.resolve(e.data.x!);
      else p?.reject(new ClientError(e.data.code as ClientErrorCode, e.data.message!));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      for (const p of slot.pending.values()) {
        p.reject(new ClientError("undecodable_image", "Cannot decode image: the decoder failed on it"));
      }
      slots.splice(slots.indexOf(slot), 1);
      if (slot.ready) spawn();
      else console.warn(`decode pool: a worker failed to start (${e.message}); decoding inline`);
    };
    slots.push(slot);
  };
  for (let k = 0; k < size; k++) spawn();
  const inline = (bytes: Uint8Array, field: string, limits: ImageLimits) => {
    try {
      return Promise.resolve(toMnist(decodeImage(bytes, field, limits), field));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return {
    toMnist(bytes, field, limits) {
      const live = slots.filter((s) => s.ready);
      if (bytes.length <= INLINE_BYTES || live.length === 0) return inline(bytes, field, limits);
      const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        const job: DecodeJob = { id, bytes, field, limits };
        slot.worker.postMessage(job, [bytes.buffer as ArrayBuffer]);
      });
    },
    close: () => slots.splice(0).forEach((s) => s.worker.terminate()),
  };
}

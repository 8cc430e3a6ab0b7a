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
}

export function createDecodePool(size: number): DecodePool {
  let nextId = 0;
  const spawn = (): Slot => {
    const slot: Slot = {
      worker: new Worker(new URL("./decode_worker.ts", import.meta.url).href, { type: "module" }),
      pending: new Map(),
    };
    slot.worker.onmessage = (
      e: MessageEvent<{ id: number; ok: boolean; x?: Float32Array; code?: string; message?: string }>,
    ) => {
      const p = slot.pending.get(e.data.id);
      slot.pending.delete(e.data.id);
      if (e.data.ok) p?.resolve(e.data.x!);
      else p?.reject(new ClientError(e.data.code as ClientErrorCode, e.data.message!));
    };
    slot.worker.onerror = (e) => {
      // A worker that dies (e.g. out of memory) fails its jobs and is replaced.
      e.preventDefault();
      slot.worker.terminate();
      for (const p of slot.pending.values()) {
        p.reject(new ClientError("undecodable_image", "Cannot decode image: the decoder failed on it"));
      }
      slots[slots.indexOf(slot)] = spawn();
    };
    return slot;
  };
  const slots = Array.from({ length: size }, spawn);
  return {
    toMnist(bytes, field, limits) {
      if (bytes.length <= INLINE_BYTES) {
        try {
          return Promise.resolve(toMnist(decodeImage(bytes, field, limits), field));
        } catch (e) {
          return Promise.reject(e);
        }
      }
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        const job: DecodeJob = { id, bytes, field, limits };
        slot.worker.postMessage(job, [bytes.buffer as ArrayBuffer]);
      });
    },
    close: () => slots.forEach((s) => s.worker.terminate()),
  };
}

// Worker entry for shared/heic_thread.ts: decodes one HEIC at a time, off the
// isolate that serves requests.
import { decodeHeicLuma } from "./heic.ts";
import { checkSize, type ImageLimits } from "./image.ts";
import { ClientError } from "./errors.ts";

export interface HeicJob {
  id: number;
  bytes: Uint8Array;
  name: string;
  limits: ImageLimits;
}

const self = globalThis as unknown as {
  onmessage: (e: MessageEvent<HeicJob>) => void;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};

self.postMessage({ ready: true });
self.onmessage = async ({ data: { id, bytes, name, limits } }) => {
  try {
    const raw = await decodeHeicLuma(bytes, (w, h) => checkSize(w, h, name, limits));
    self.postMessage({ id, raw }, [raw.data.buffer as ArrayBuffer]);
  } catch (e) {
    self.postMessage({
      id,
      code: e instanceof ClientError ? e.code : undefined,
      message: (e as Error).message,
    });
  }
};

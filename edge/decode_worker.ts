// Decode-and-preprocess worker for large images: the two images of a
// /verify request decode in parallel, one per core.
import { ClientError } from "../shared/errors.ts";
import { decodeImage, type ImageLimits } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";

export interface DecodeJob {
  id: number;
  bytes: Uint8Array;
  field: string;
  limits: ImageLimits;
}

const self = globalThis as unknown as {
  onmessage: (e: MessageEvent<DecodeJob>) => void;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};

self.postMessage({ ready: true });
self.onmessage = ({ data: { id, bytes, field, limits } }) => {
  try {
    const x = toMnist(decodeImage(bytes, field, limits), field);
    self.postMessage({ id, ok: true, x }, [x.buffer as ArrayBuffer]);
  } catch (e) {
    const code = e instanceof ClientError ? e.code : "undecodable_image";
    self.postMessage({ id, ok: false, code, message: (e as Error).message });
  }
};

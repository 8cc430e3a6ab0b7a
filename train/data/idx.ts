// IDX (MNIST file format) parsing: pure functions over bytes, with the
// magic-number and size checks that turn a corrupt download into a clear error.
import { SIDE } from "../../shared/preprocess.ts";

/** Images of one IDX3 file: `pixels` is Uint8Array(count*rows*cols), 0..255. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/** Thrown for any malformed IDX input; `name` is the file it came from. */
export class IdxError extends Error {
  constructor(name: string, detail: string) {
    super(`Cannot parse IDX file "${name}": ${detail}`);
    this.name = "IdxError";
  }
}

function header(bytes: Uint8Array, name: string, magic: number, size: number) {
  if (bytes.length < size) {
    throw new IdxError(name, `${bytes.length} bytes is shorter than its ${size}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    throw new IdxError(
      name,
      `magic number 0x${found.toString(16).padStart(8, "0")} is not 0x${magic.toString(16).padStart(8, "0")}`,
    );
  }
  return view;
}

/**
 * Parse an IDX3 image file (magic 0x00000803, uint8 pixels).
 *
 * @example
 * ```ts
 * const b = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 255]);
 * parseIdxImages(b, "x").pixels; // Uint8Array [255]
 * ```
 */
export function parseIdxImages(bytes: Uint8Array, name: string): IdxImages {
  const view = header(bytes, name, 0x00000803, 16);
  const count = view.getUint32(4), rows = view.getUint32(8), cols = view.getUint32(12);
  const want = 16 + count * rows * cols;
  if (bytes.length !== want) {
    throw new IdxError(
      name,
      `header declares ${count} images of ${rows}x${cols} (${want} bytes) but the file has ${bytes.length} bytes`,
    );
  }
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Parse an IDX1 label file (magic 0x00000801); every label must be 0..9. */
export function parseIdxLabels(bytes: Uint8Array, name: string): Uint8Array {
  const view = header(bytes, name, 0x00000801, 8);
  const count = view.getUint32(4);
  if (bytes.length !== 8 + count) {
    throw new IdxError(
      name,
      `header declares ${count} labels (${8 + count} bytes) but the file has ${bytes.length} bytes`,
    );
  }
  const labels = bytes.subarray(8);
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) throw new IdxError(name, `label ${labels[bad]} at index ${bad} is not 0..9`);
  return labels;
}

/** Images and labels of one split, checked against each other. */
export interface Split {
  images: IdxImages;
  labels: Uint8Array;
}

/** Pair an image file with its label file; counts must match, images be SIDE x SIDE (the model's input). */
export function makeSplit(images: IdxImages, labels: Uint8Array, name: string): Split {
  if (images.count !== labels.length) {
    throw new IdxError(name, `${images.count} images but ${labels.length} labels`);
  }
  if (images.rows !== SIDE || images.cols !== SIDE) {
    throw new IdxError(name, `images are ${images.rows}x${images.cols}, expected ${SIDE}x${SIDE}`);
  }
  return { images, labels };
}

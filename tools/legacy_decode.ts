// The pure-JavaScript decoders the service used before sharp (jpeg-js,
// fast-png), kept only so `deno task bench:edge` can compare them with
// shared/decode.ts in the same run. PNG (every color type and bit depth) and
// baseline/progressive JPEG at full size; no EXIF orientation. The service
// does not import this file.
import jpeg from "jpeg-js";
import { ClientError } from "../shared/errors.ts";
import { rgbaToGray } from "../shared/gray.ts";
import { fromPng } from "../shared/png.ts";
import { checkSize, type Gray, type ImageLimits } from "../shared/image.ts";

/** The limits these decoders ran under in the service. */
const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxSide: 4096, maxPixels: 16_000_000 };

/** jpeg-js's working-memory cap: 3000x2000 (6 Mpx) photos fit; its accounting undercounts, peak RSS is higher. */
const JPEG_MEMORY_MB = 128;

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** "png" | "jpeg" | undefined, from the magic bytes. */
export function sniffFormat(b: Uint8Array): "png" | "jpeg" | undefined {
  if (b.length >= 8 && PNG_SIG.every((x, i) => b[i] === x)) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  return undefined;
}

/** Declared [width, height] from the header, without decoding. */
export function readDimensions(b: Uint8Array, format: "png" | "jpeg", name: string): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (format === "png") {
    if (b.length < 24 || String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") {
      throw new ClientError("undecodable_image", `Cannot decode image "${name}": PNG has no IHDR header`);
    }
    return [v.getUint32(16), v.getUint32(20)];
  }
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = b[i + 1];
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) {
      i += 2;
      continue;
    }
    const len = v.getUint16(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return [v.getUint16(i + 7), v.getUint16(i + 5)];
    }
    i += 2 + len;
  }
  throw new ClientError("undecodable_image", `Cannot decode image "${name}": JPEG has no frame header`);
}

/**
 * Decode PNG or JPEG bytes to luminance (Rec. 601 weights), compositing any
 * alpha over white paper. Throws ClientError with a stable code.
 */
export function decodeImage(bytes: Uint8Array, name: string, limits = DEFAULT_IMAGE_LIMITS): Gray {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ClientError(
      "unsupported_image_format",
      `Cannot decode image "${name}": not a PNG or JPEG file`,
    );
  }
  const [w, h] = readDimensions(bytes, format, name);
  checkSize(w, h, name, limits);
  try {
    return format === "png" ? fromPng(bytes, w, h) : fromJpeg(bytes, w, h, limits);
  } catch (e) {
    if (e instanceof ClientError) throw e;
    if (/maxMemoryUsageInMB/.test((e as Error).message)) {
      throw new ClientError(
        "image_too_large",
        `Cannot decode image "${name}": a ${w}x${h} JPEG needs more than ${JPEG_MEMORY_MB} MB to decode`,
      );
    }
    throw new ClientError("undecodable_image", `Cannot decode image "${name}": ${(e as Error).message}`);
  }
}

/** True when an Adobe APP14 segment is present (its own colour transform rules). */
function hasAdobeMarker(b: Uint8Array): boolean {
  for (let i = 2; i + 9 < b.length && b[i] === 0xff; i += 2 + ((b[i + 2] << 8) | b[i + 3])) {
    if (b[i + 1] === 0xda) return false; // start of scan: no more headers
    if (b[i + 1] === 0xee && String.fromCharCode(...b.subarray(i + 4, i + 9)) === "Adobe") return true;
  }
  return false;
}

function fromJpeg(bytes: Uint8Array, w: number, h: number, limits: ImageLimits): Gray {
  // JFIF stores luma as the Y channel: skipping the YCbCr -> RGB transform
  // and reading Y is the same gray, a quarter faster. Adobe files (RGB/CMYK)
  // take the full path.
  const luma = !hasAdobeMarker(bytes);
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    colorTransform: luma ? false : undefined,
    maxResolutionInMP: limits.maxPixels / 1e6,
    maxMemoryUsageInMB: JPEG_MEMORY_MB,
  });
  if (img.width !== w || img.height !== h) throw new Error("frame size changed while decoding");
  if (!luma) return rgbaToGray(img.data, w, h);
  const out = new Float32Array(w * h), d = img.data;
  for (let i = 0, j = 0; i < out.length; i++, j += 4) out[i] = d[j] / 255;
  return { width: w, height: h, data: out };
}

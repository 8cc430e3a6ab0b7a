// The pure-JavaScript decoders (jpeg-js, fast-png): what decodes JPEG and PNG
// where sharp cannot run (its WebAssembly build hangs under Deno 2.5, and a
// platform may refuse native addons). Full size, no shrink-on-load, so a
// JPEG over jpeg-js's memory cap (~6 Mpx) is image_too_large here. EXIF
// orientation is read from the JPEG's APP1 segment and applied.
// `deno task bench:edge` also times these beside sharp.
import jpeg from "jpeg-js";
import { ClientError } from "./errors.ts";
import { rgbaToGray } from "./gray.ts";
import { checkSize, type Gray, type ImageLimits, type Raw8 } from "./image.ts";
import { fromPng } from "./png.ts";
import { orient } from "./orient.ts";
import { declaredSize, type ImageFormat } from "./format.ts";

/** jpeg-js's working-memory cap: 3000x2000 (6 Mpx) photos fit. */
const JPEG_MEMORY_MB = 128;

const u16 = (b: Uint8Array, i: number, le = false) => le ? b[i] | (b[i + 1] << 8) : (b[i] << 8) | b[i + 1];
const u32 = (b: Uint8Array, i: number, le = false) =>
  le ? (u16(b, i, true) | (u16(b, i + 2, true) << 16)) >>> 0 : ((u16(b, i) << 16) | u16(b, i + 2)) >>> 0;

/** The JPEG's segments before its scan: [marker, start of payload, payload length]. */
function* segments(b: Uint8Array): Generator<[number, number, number]> {
  for (let i = 2; i + 4 <= b.length && b[i] === 0xff;) {
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return; // start of scan / end of image
    const len = u16(b, i + 2);
    if (len < 2) return;
    yield [marker, i + 4, len - 2];
    i += 2 + len;
  }
}

/** [width, height] from the JPEG's frame header, or undefined. */
function jpegSize(b: Uint8Array): [number, number] | undefined {
  for (const [m, at, len] of segments(b)) {
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc && len >= 5) {
      return [u16(b, at + 3), u16(b, at + 1)];
    }
  }
  return undefined;
}

/**
 * EXIF Orientation (1-8) from the JPEG's APP1 segment; 1 when absent or malformed.
 *
 * @example
 * ```ts
 * import { exifOrientation } from "./decode_js.ts";
 *
 * // SOI, then APP1: "Exif\0\0", a big-endian TIFF header, one IFD entry (0x0112 Orientation = 6)
 * const exif = [..."Exif\0\0MM\0*"].map((c) => c.charCodeAt(0));
 * const ifd = [0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]; // IFD at 8, 1 entry
 * const jpeg = Uint8Array.of(0xff, 0xd8, 0xff, 0xe1, 0, 2 + exif.length + ifd.length, ...exif, ...ifd);
 * if (exifOrientation(jpeg) !== 6) throw new Error("Orientation 6 not read");
 * if (exifOrientation(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9)) !== 1) throw new Error("no EXIF is not 1");
 * ```
 */
export function exifOrientation(b: Uint8Array): number {
  for (const [m, at, len] of segments(b)) {
    if (m !== 0xe1 || len < 14 || String.fromCharCode(...b.subarray(at, at + 6)) !== "Exif\0\0") continue;
    const t = at + 6, le = b[t] === 0x49, end = at + len; // TIFF header: "II" little-endian, "MM" big
    const ifd = t + u32(b, t + 4, le);
    if (ifd + 2 > end) return 1;
    for (let k = 0, n = u16(b, ifd, le); k < n && ifd + 2 + 12 * (k + 1) <= end; k++) {
      const e = ifd + 2 + 12 * k;
      if (u16(b, e, le) === 0x0112) {
        const o = u16(b, e + 8, le);
        return o >= 1 && o <= 8 ? o : 1;
      }
    }
    return 1;
  }
  return 1;
}

/** True when an Adobe APP14 segment is present (its own colour transform rules). */
function hasAdobeMarker(b: Uint8Array): boolean {
  for (const [m, at] of segments(b)) {
    if (m === 0xee && String.fromCharCode(...b.subarray(at, at + 5)) === "Adobe") return true;
  }
  return false;
}

function fromJpeg(bytes: Uint8Array, name: string, limits: ImageLimits): Gray {
  const size = jpegSize(bytes);
  if (!size) {
    throw new ClientError("undecodable_image", `Cannot decode image "${name}": JPEG has no frame header`);
  }
  const [w, h] = size;
  checkSize(w, h, name, limits);
  // JFIF stores luma as the Y channel: reading Y skips the YCbCr -> RGB
  // transform, a quarter faster. Adobe files (RGB/CMYK) take the full path.
  const luma = !hasAdobeMarker(bytes);
  let img;
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      colorTransform: luma ? false : undefined,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: JPEG_MEMORY_MB,
    });
  } catch (e) {
    if (!/maxMemoryUsageInMB/.test((e as Error).message)) throw e;
    throw new ClientError(
      "image_too_large",
      `Cannot decode image "${name}": a ${w}x${h} JPEG needs more than ${JPEG_MEMORY_MB} MB to decode here`,
    );
  }
  if (img.width !== w || img.height !== h) throw new Error("frame size changed while decoding");
  let gray: Gray = { width: w, height: h, data: new Float32Array(w * h) };
  if (luma) { for (let i = 0, d = img.data; i < gray.data.length; i++) gray.data[i] = d[4 * i] / 255; }
  else gray = rgbaToGray(img.data, w, h);
  return orient(gray, exifOrientation(bytes));
}

/**
 * Decode a JPEG or PNG with the JavaScript decoders (size checked from the
 * header first). Other formats are unsupported_image_format here.
 * Returns Gray at full size. Throws ClientError, or Error on a malformed file.
 *
 * @example
 * ```ts
 * import { decodeJs } from "./decode_js.ts";
 * import { DEFAULT_IMAGE_LIMITS } from "./image.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.png", import.meta.url));
 * const gray = decodeJs(bytes, "png", "a", DEFAULT_IMAGE_LIMITS);
 * if (gray.width !== 160 || gray.height !== 120) throw new Error(`${gray.width}x${gray.height}`);
 * ```
 */
export function decodeJs(bytes: Uint8Array, format: ImageFormat, name: string, limits: ImageLimits): Gray {
  if (format === "jpeg") return fromJpeg(bytes, name, limits);
  const size = format === "png" ? declaredSize(bytes, format) : undefined;
  if (size) {
    checkSize(...size, name, limits);
    return fromPng(bytes, ...size);
  }
  throw new ClientError(
    "unsupported_image_format",
    `Cannot decode image "${name}": this server decodes ${format.toUpperCase()} only with libvips, which cannot run here`,
  );
}

/**
 * 8-bit gray or RGB samples -> Gray (Rec. 601), at full size.
 *
 * @example
 * ```ts
 * import { rawToGray } from "./decode_js.ts";
 *
 * const gray = rawToGray({ width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 0, 0, 255, 0, 0) });
 * if (gray.data[0] !== 0 || Math.abs(gray.data[1] - 0.299) > 1e-6) throw new Error("not Rec. 601");
 * ```
 */
export function rawToGray({ width, height, channels, data }: Raw8): Gray {
  if (channels === 1) return { width, height, data: Float32Array.from(data, (v) => v / 255) };
  const out = new Float32Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = (0.299 * data[j] + 0.587 * data[j + 1] + 0.114 * data[j + 2]) / 255;
  }
  return { width, height, data: out };
}

// Which image format bytes are, from their magic bytes, and the size a PNG or
// GIF header declares: read before any decoder sees the file.

/** An image format the service decodes, named as sniffFormat names it. */
export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "avif" | "heic" | "bmp";

/**
 * Every format decodeImage reads, for messages and docs.
 *
 * @example
 * ```ts
 * import { FORMATS } from "./format.ts";
 *
 * const message = `not a ${FORMATS.join(", ").toUpperCase()} file`;
 * if (!message.includes("HEIC") || !FORMATS.includes("bmp")) throw new Error(message);
 * ```
 */
export const FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp", "gif", "tiff", "avif", "heic", "bmp"];

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

/**
 * The format from the magic bytes, or undefined (also for fewer than 12 bytes).
 * A file's name or declared type plays no part.
 *
 * @example
 * ```ts
 * import { sniffFormat } from "./format.ts";
 *
 * const png = await Deno.readFile(new URL("../tests/images/seven.png", import.meta.url));
 * if (sniffFormat(png) !== "png") throw new Error("PNG not recognised");
 * const heic = await Deno.readFile(new URL("../tests/images/seven.heic", import.meta.url));
 * if (sniffFormat(heic) !== "heic") throw new Error("HEIC not recognised");
 * if (sniffFormat(new TextEncoder().encode("<svg></svg> ...")) !== undefined) throw new Error("SVG read");
 * ```
 */
export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (b.length < 12) return undefined;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (ascii(b, 0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return "webp";
  if (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a") return "gif";
  if (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*") return "tiff";
  if (ascii(b, 0, 2) === "BM") return "bmp";
  if (ascii(b, 4, 4) === "ftyp") {
    // ISO base media: the major brand, then compatible brands up to the box's end (a real one is tens of bytes).
    const end = Math.min(b.length, 256, ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
    const brands = [ascii(b, 8, 4)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(b, i, 4));
    if (brands.some((x) => x === "avif" || x === "avis")) return "avif";
    if (brands.some((x) => /^(heic|heix|hevc|hevx|heim|heis|mif1|msf1)$/.test(x))) return "heic";
  }
  return undefined;
}

/**
 * The size a PNG or GIF header declares, read at its fixed offset: a file
 * that is only a header (a 109-byte "bomb") has no size libvips would report.
 * Returns [width, height], or undefined for other formats.
 *
 * @example
 * ```ts
 * import { declaredSize } from "./format.ts";
 *
 * // A PNG signature and IHDR declaring 30000x30000, with no pixels at all.
 * const bomb = new Uint8Array(33);
 * bomb.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
 * new DataView(bomb.buffer).setUint32(16, 30000);
 * new DataView(bomb.buffer).setUint32(20, 30000);
 * if (declaredSize(bomb, "png")?.join("x") !== "30000x30000") throw new Error("size not read");
 * ```
 */
export function declaredSize(b: Uint8Array, format: ImageFormat): [number, number] | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (format === "png" && b.length >= 24) return [v.getUint32(16), v.getUint32(20)];
  if (format === "gif") return [v.getUint16(6, true), v.getUint16(8, true)];
  return undefined;
}

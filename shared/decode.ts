// Image bytes -> upright grayscale at no more than WORK px a side, for what
// phones, browsers and scanners write: JPEG (baseline, progressive, gray,
// CMYK), PNG, WebP, GIF (first frame), TIFF and AVIF through sharp (libvips;
// JPEGs shrink on load in the DCT domain, so a 48 MP photo never exists at
// full size); PNGs of up to 64x64 through fast-png (shared/png.ts), HEIC
// through libheif on a worker (shared/heic_thread.ts), BMP through
// bmpimagejs (shared/bmp.ts). EXIF orientation (HEIF: irot/imir) is applied
// before anything else, as browsers do when they draw an image.
//
// sharp loads its native libvips build where the platform has one and the
// process may load it (Deno: --allow-ffi); otherwise sharp itself falls back
// to its WebAssembly build (@img/sharp-wasm32), same API, slower; where that
// does not run either, JPEG and PNG decode in JavaScript (shared/decode_js.ts).
import type { Sharp } from "sharp";
import { ClientError } from "./errors.ts";
import { checkSize, DEFAULT_IMAGE_LIMITS, type Gray } from "./image.ts";
import { rgbaToGray } from "./gray.ts";
import { WORK } from "./preprocess.ts";
import { decodeHeicOffThread } from "./heic_thread.ts";
import { decodeHeicLuma } from "./heic.ts";
import { declaredSize, FORMATS, sniffFormat } from "./format.ts";

/** PNGs of at most this many pixels decode in JavaScript (shared/png.ts). */
const SMALL_PNG_PIXELS = 64 * 64;

let jsLoad:
  | Promise<typeof import("./png.ts") & typeof import("./bmp.ts") & typeof import("./decode_js.ts")>
  | undefined;
/**
 * The JavaScript decoders (fast-png, bmpimagejs, jpeg-js), imported on first
 * use: they bring in Deno's Node compatibility layer (fast-png's fflate
 * imports node:worker_threads), ~70 ms that a process answering its first
 * request should not wait for. `warmDecoders()` loads them ahead of need.
 */
function jsDecoders() {
  return jsLoad ??= Promise.all([import("./png.ts"), import("./bmp.ts"), import("./decode_js.ts")])
    .then(([png, bmp, js]) => ({ ...png, ...bmp, ...js }));
}

type SharpFn = typeof import("sharp").default;
let sharpLoad: Promise<SharpFn> | undefined;
/**
 * sharp, imported on first use: importing it (and libvips) takes ~145 ms,
 * which a process that only scores pixel arrays, or has just started,
 * should not wait for. `warmDecoders()` loads it ahead of need.
 */
function loadSharp(): Promise<SharpFn> {
  return sharpLoad ??= import("sharp").then(({ default: sharp }) => {
    // No operation cache: every request is new bytes, and a cache would only hold memory.
    sharp.cache(false);
    return sharp;
  });
}

/**
 * Load the decoders now (in the background after start-up), so that the first photo does not wait.
 *
 * @example
 * ```ts
 * import { decoderInUse, warmDecoders } from "./decode.ts";
 *
 * await warmDecoders(); // a server calls this without await once it listens
 * if (!["native", "wasm32", "javascript"].includes(await decoderInUse())) throw new Error("no decoder");
 * ```
 */
export async function warmDecoders(): Promise<void> {
  await Promise.all([jsDecoders(), sharpDecodes()]);
}

/**
 * Which sharp build loaded: "native" (libvips) or "wasm32" (its WebAssembly build).
 *
 * @example
 * ```ts
 * import { decoderBuild } from "./decode.ts";
 *
 * const build = await decoderBuild(); // "native" where the process may load libvips (--allow-ffi)
 * if (build !== "native" && build !== "wasm32") throw new Error(`unknown build ${build}`);
 * ```
 */
export async function decoderBuild(): Promise<"native" | "wasm32"> {
  return "emscripten" in (await loadSharp()).versions ? "wasm32" : "native";
}

let sharpRuns: Promise<boolean> | undefined;
/**
 * Whether sharp decodes here: its native build does; its WebAssembly build is
 * tried once on a tiny image, since under Deno 2.5 it hangs (a 640x480 pair
 * took 80 s). When it does not, JPEG and PNG decode in JavaScript
 * (shared/decode_js.ts) and the other formats are refused.
 *
 * @example
 * ```ts
 * import { decoderInUse, sharpDecodes } from "./decode.ts";
 *
 * const viaSharp = await sharpDecodes(); // the answer is kept: later calls do not try again
 * if (viaSharp !== ((await decoderInUse()) !== "javascript")) throw new Error("inconsistent");
 * ```
 */
export function sharpDecodes(): Promise<boolean> {
  return sharpRuns ??= loadSharp().then(async (sharp) =>
    (await decoderBuild()) === "native" ? true : new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } }).raw().toBuffer()
        .then(() => resolve(true), () => resolve(false))
        .finally(() => clearTimeout(timer));
    })
  );
}

/**
 * The decoders in use, for /readyz: sharp's build, or "javascript" where sharp cannot run.
 *
 * @example
 * ```ts
 * import { decoderInUse } from "./decode.ts";
 *
 * const readyz = { decoder: await decoderInUse() }; // e.g. { decoder: "native" }
 * if (!["native", "wasm32", "javascript"].includes(readyz.decoder)) throw new Error("no decoder");
 * ```
 */
export async function decoderInUse(): Promise<"native" | "wasm32" | "javascript"> {
  // deno-coverage-ignore -- "javascript": sharp's probe fails only under Deno 2.5 (deno25_test; coverage unreadable) or if wasm32 takes over 3 s
  return (await sharpDecodes()) ? await decoderBuild() : "javascript";
}

/** Map a decoder's failure to the client's error: too large, or undecodable. */
function failure(e: unknown, name: string): ClientError {
  if (e instanceof ClientError) return e;
  const msg = (e as Error)?.message ?? String(e);
  // deno-coverage-ignore-start -- sharp's pixel limit applies to the header's size, which check() has already held to the same limit
  if (/pixel limit/i.test(msg)) {
    return new ClientError("image_too_large", `Cannot decode image "${name}": it exceeds the pixel limit`);
  }
  // deno-coverage-ignore-stop
  return new ClientError("undecodable_image", `Cannot decode image "${name}": ${msg.split("\n")[0]}`);
}

/** Orient, shrink to fit WORK x WORK (never enlarge), and read sRGB + alpha as Gray. */
async function toGray(img: Sharp): Promise<Gray> {
  const { data, info } = await img
    .autoOrient()
    .resize({ width: WORK, height: WORK, fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb")
    .ensureAlpha()
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return rgbaToGray(data, info.width, info.height);
}

/**
 * Decode image bytes (any of FORMATS) to upright luminance at most WORK px a
 * side, alpha composited over white paper.
 * Returns Gray (Float32Array(width*height), 0 = black .. 1 = white).
 * Throws ClientError: unsupported_image_format, image_too_large (checked
 * from the header, before decoding) or undecodable_image.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./decode.ts";
 * import { PIXELS, toMnist } from "./preprocess.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.png", import.meta.url));
 * const gray = await decodeImage(bytes, "a"); // "a": the image's name in error messages
 * if (toMnist(gray, "a").length !== PIXELS) throw new Error("not a model input");
 * const refused = await decodeImage(new TextEncoder().encode("not an image at all"), "b").catch((e) => e);
 * if (refused.code !== "unsupported_image_format") throw refused;
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  limits = DEFAULT_IMAGE_LIMITS,
): Promise<Gray> {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ClientError(
      "unsupported_image_format",
      `Cannot decode image "${name}": not a ${FORMATS.join(", ").toUpperCase()} file`,
    );
  }
  // Loading a decoder is the server's business (a failure there is a 500);
  // what a decoder makes of the client's bytes is the client's (a 4xx).
  const { fromPng, decodeBmpRgb, decodeJs, rawToGray } = await jsDecoders();
  const check = (w: number, h: number) => checkSize(w, h, name, limits);
  let declared: [number, number] | undefined;
  try {
    declared = format === "heic" || format === "bmp" ? undefined : declaredSize(bytes, format);
    if (declared) check(...declared);
    if (format === "png" && declared![0] * declared![1] <= SMALL_PNG_PIXELS) {
      return fromPng(bytes, ...declared!);
    }
  } catch (e) {
    throw failure(e, name);
  }
  const viaSharp = await sharpDecodes();
  // deno-coverage-ignore -- no sharp: its probe fails only under Deno 2.5 (deno25_test; coverage unreadable) or if wasm32 takes over 3 s
  const sharp = viaSharp ? await loadSharp() : undefined;
  try {
    // Where sharp cannot run (its WebAssembly build stuck under Deno 2.5), a
    // HEIC worker does not start either: decode inline there.
    const raw = format === "heic"
      // deno-coverage-ignore -- no sharp: its probe fails only under Deno 2.5 (deno25_test; coverage unreadable) or if wasm32 takes over 3 s
      ? await (viaSharp ? decodeHeicOffThread(bytes, name, limits) : decodeHeicLuma(bytes, check))
      : format === "bmp"
      ? decodeBmpRgb(bytes, check)
      : undefined;
    if (raw) {
      const { width, height, channels } = raw;
      // deno-coverage-ignore -- no sharp: its probe fails only under Deno 2.5 (deno25_test; coverage unreadable) or if wasm32 takes over 3 s
      return sharp ? await toGray(sharp(raw.data, { raw: { width, height, channels } })) : rawToGray(raw);
    }
    // deno-coverage-ignore -- no sharp: its probe fails only under Deno 2.5 (deno25_test; coverage unreadable) or if wasm32 takes over 3 s
    if (!sharp) return decodeJs(bytes, format, name, limits);
    // ignoreIcc: colour management (a phone's Display P3 profile, say) moves
    // hues, not the gray of ink on paper, and costs half the decode time of a
    // 640x480 photo. CMYK files still convert through libvips' CMYK profile.
    const opts = {
      limitInputPixels: limits.maxPixels,
      failOn: "error",
      sequentialRead: true,
      ignoreIcc: true,
    } as const;
    // The header's size, checked here so the message can name it.
    const meta = await sharp(bytes, { ...opts, limitInputPixels: false }).metadata();
    // deno-coverage-ignore -- sharp's metadata() has a width and height for every file it opens (and throws for others)
    check(meta.width ?? 0, meta.height ?? 0);
    return await toGray(sharp(bytes, opts));
  } catch (e) {
    throw failure(e, name);
  }
}

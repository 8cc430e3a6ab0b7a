// HEIC (HEVC in HEIF, an iPhone's default) -> its luma plane, through
// libheif-js (libheif + libde265 compiled to WebAssembly). libvips as sharp
// ships it reads AVIF but not HEVC, so HEIC takes this path. libheif applies
// the file's rotation and mirroring (irot/imir) while decoding.
// The module (wasm inside, ~120 ms to start) loads on the first HEIC.
import type { Raw8 } from "./image.ts";

// deno-lint-ignore no-explicit-any
type LibHeif = any;
let lib: Promise<LibHeif> | undefined;
function libheif(): Promise<LibHeif> {
  // Quiet: libde265 prints its complaints about a broken file ("SPS error: ...") to stdout.
  lib ??= import("libheif-js/libheif-wasm/libheif-bundle.mjs").then((m) =>
    m.default({ print() {}, printErr() {} })
  );
  return lib;
}

/**
 * Decode the primary image of a HEIC file to its luma (Y) plane, 8-bit.
 * `check(width, height)` runs on the declared size before decoding and may
 * throw to refuse it. Throws Error on a file libheif cannot read.
 *
 * @example
 * ```ts
 * import { decodeHeicLuma } from "./heic.ts";
 *
 * const bytes = await Deno.readFile(new URL("../tests/images/seven.heic", import.meta.url));
 * const luma = await decodeHeicLuma(bytes, (w, h) => {
 *   if (w * h > 50e6) throw new Error("too large");
 * });
 * if (luma.channels !== 1 || luma.data.length !== luma.width * luma.height) throw new Error("not a plane");
 * ```
 */
export async function decodeHeicLuma(
  bytes: Uint8Array,
  check: (w: number, h: number) => void,
): Promise<Raw8> {
  const h = await libheif();
  const ctx = h.heif_context_alloc();
  let handle: unknown, decoded: unknown;
  try {
    const err = h.heif_context_read_from_memory(ctx, bytes);
    if (err.code !== h.heif_error_code.heif_error_Ok) {
      throw new Error(`not a readable HEIF file (${err.message})`);
    }
    handle = primaryHandle(h, ctx);
    check(h.heif_image_handle_get_width(handle), h.heif_image_handle_get_height(handle));
    const image: { image: unknown; channels?: HeifChannel[]; message?: string } = await h
      .heif_js_decode_image2(
        handle,
        h.heif_colorspace.heif_colorspace_YCbCr,
        h.heif_chroma.heif_chroma_420,
      );
    if (!image.channels) throw new Error(image.message ?? "HEVC decoding failed");
    decoded = image.image;
    const y = image.channels.find((c) => c.id === h.heif_channel.heif_channel_Y);
    // deno-coverage-ignore -- libheif converts what it decodes to the YCbCr 4:2:0 asked for above, which has a Y plane
    if (!y) throw new Error("decoded HEIF image has no luma plane");
    // Copied out before the image is released (the plane is a view into the WebAssembly heap).
    return { width: y.width, height: y.height, channels: 1, data: packRows(y) };
  } finally {
    if (decoded) h.heif_image_release(decoded);
    if (handle) h.heif_image_handle_release(handle);
    h.heif_context_free(ctx);
  }
}

/** The primary image's handle (other top-level images' handles released). Throws Error if there is none. */
function primaryHandle(h: LibHeif, ctx: unknown): unknown {
  const ids = h.heif_js_context_get_list_of_top_level_image_IDs(ctx);
  // deno-coverage-ignore -- libheif-js answers an error object instead of the list only when malloc fails
  for (const id of ids?.code === undefined ? Array.from<number>(ids) : []) {
    const handle = h.heif_js_context_get_image_handle(ctx, id);
    // deno-coverage-ignore -- an error object only for an item ID not in the file; these IDs are the file's own
    if (handle?.code !== undefined) continue; // an error object, not a handle
    if (h.heif_image_handle_is_primary_image(handle)) return handle;
    h.heif_image_handle_release(handle);
  }
  throw new Error("HEIF file has no primary image");
}

interface HeifChannel {
  id: unknown;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}

/** Rows without the decoder's stride padding, as a copy. */
function packRows({ width, height, stride, data }: HeifChannel): Uint8Array {
  if (stride === width) return data.slice(0, width * height);
  const out = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) out.set(data.subarray(r * stride, r * stride + width), r * width);
  return out;
}

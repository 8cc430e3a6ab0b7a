// The JavaScript decoders (shared/decode_js.ts), the service's fallback where
// sharp cannot run: JPEG with its EXIF orientation, PNG, and clear refusals.
import sharp from "sharp";
import { decodeJs, exifOrientation, rawToGray } from "../shared/decode_js.ts";
import { DEFAULT_IMAGE_LIMITS } from "../shared/image.ts";
import { stored } from "../shared/orient.ts";
import type { ImageFormat } from "../shared/format.ts";
import { toMnist } from "../shared/preprocess.ts";
import { assert, assertEquals, assertThrows, clientError } from "./assert.ts";
import { meanAbsDiff } from "./fixtures.ts";

const SEVEN = Deno.readFileSync(new URL("./images/seven.png", import.meta.url));
const gray = await sharp(SEVEN).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
const jpeg = (px: Uint8Array, w: number, h: number, o: number) =>
  sharp(px, { raw: { width: w, height: h, channels: 1 } }).jpeg({ quality: 92 }).withMetadata({
    orientation: o,
  })
    .toBuffer().then((b) => new Uint8Array(b));
const input = (bytes: Uint8Array, format: ImageFormat = "jpeg") =>
  toMnist(decodeJs(bytes, format, "x", DEFAULT_IMAGE_LIMITS), "x");
const refused = (f: () => unknown, code: string) => assertThrows(f, clientError(code));

Deno.test("decodeJs() turns a JPEG upright by its EXIF orientation, all eight values", async () => {
  const up = { data: new Uint8Array(gray.data), width: gray.info.width, height: gray.info.height };
  const ref = input(await jpeg(up.data, up.width, up.height, 1));
  for (let o = 1; o <= 8; o++) {
    const s = stored(up, o), bytes = await jpeg(s.data, s.width, s.height, o);
    assertEquals(exifOrientation(bytes), o);
    const d = meanAbsDiff(input(bytes), ref);
    assert(d <= 0.02, `orientation ${o}: mean |difference| ${d.toFixed(4)}`);
  }
  // A little-endian ("II") EXIF block, as many cameras write it, with Orientation 3.
  const app1 = Uint8Array.of(
    0xff,
    0xe1,
    0,
    34,
    ...new TextEncoder().encode("Exif\0\0"),
    0x49,
    0x49,
    42,
    0,
    8,
    0,
    0,
    0,
    1,
    0,
    0x12,
    0x01,
    3,
    0,
    1,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  );
  const plain = await jpeg(up.data, up.width, up.height, 1);
  assertEquals(exifOrientation(Uint8Array.of(...plain.subarray(0, 2), ...app1, ...plain.subarray(2))), 3);
  assertEquals(exifOrientation(plain), 1);
});

Deno.test("decodeJs() reads PNG, refuses formats it lacks and JPEGs over its memory cap", async () => {
  assert(
    meanAbsDiff(
      input(SEVEN, "png"),
      toMnist(rawToGray({ ...gray.info, channels: 1, data: gray.data }), "r"),
    ) < 1e-6,
  );
  const webp = new Uint8Array(await sharp(SEVEN).webp().toBuffer());
  refused(() => decodeJs(webp, "webp", "w", DEFAULT_IMAGE_LIMITS), "unsupported_image_format");
  const big = new Uint8Array(
    await sharp({ create: { width: 4032, height: 3024, channels: 3, background: "#fff" } }).jpeg().toBuffer(),
  );
  refused(() => decodeJs(big, "jpeg", "big", DEFAULT_IMAGE_LIMITS), "image_too_large");
});

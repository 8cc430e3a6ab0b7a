// A phone photo of a digit, made here: the digit (any image of dark ink on
// light paper) enlarged onto a 12 MP page with uneven warm light and sensor
// noise, stored turned or mirrored as a phone stores it, with the EXIF
// Orientation that shows it upright, encoded by libjpeg or libwebp (sharp).
// Used by the robustness set's "phone" kind (made on the fly: 12 MP files do
// not belong in the repository) and by `deno task bench:edge`.
import sharp from "sharp";
import { createRng } from "../shared/rng.ts";
import { stored } from "../shared/orient.ts";

export interface PhoneOptions {
  /** EXIF Orientation 1-8 to store with (default 1, upright). */
  orientation?: number;
  format?: "jpeg" | "webp";
  width?: number;
  height?: number;
  /** Seeds the placement, light and noise. */
  seed?: number;
  quality?: number;
}

/**
 * Photograph `digit` (encoded image bytes, dark ink on light paper).
 * Returns the encoded photo: JPEG or WebP bytes, upright size width x height.
 */
export async function phonePhoto(digit: Uint8Array, opts: PhoneOptions = {}): Promise<Uint8Array> {
  const { orientation = 1, format = "jpeg", width: w = 4032, height: h = 3024, seed = 1, quality = 88 } =
    opts;
  const rng = createRng(seed);
  // The digit fills about 45% of the frame's height, somewhere off-centre.
  const side = Math.round(h * (0.4 + 0.1 * rng.next()));
  const ink = await sharp(digit).toColourspace("b-w").resize(side, side, {
    fit: "contain",
    background: "#fff",
  })
    .raw().toBuffer();
  // The source's own paper (with its uneven light) becomes this page's paper:
  // levels above 3/4 of its median are white, the darkest are full ink.
  const sorted = Uint8Array.from(ink).sort();
  const lo = sorted[0], hi = Math.max(lo + 1, 0.75 * sorted[sorted.length >> 1]);
  const left = Math.round((w - side) * (0.25 + 0.5 * rng.next())),
    top = Math.round((h - side) * (0.2 + 0.6 * rng.next()));
  const light = 0.25 * rng.next(), dir = rng.next() * 2 * Math.PI, cx = Math.cos(dir), cy = Math.sin(dir);
  const page = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const inY = y >= top && y < top + side;
    for (let x = 0; x < w; x++) {
      const lit = 225 * (1 - light * (0.5 + 0.5 * ((x / w - 0.5) * cx + (y / h - 0.5) * cy)));
      const a = inY && x >= left && x < left + side
        ? Math.min(1, Math.max(0, (ink[(y - top) * side + (x - left)] - lo) / (hi - lo)))
        : 1;
      // Cheap sensor noise: the sum of two uniforms, about +-6 levels.
      const v = lit * (0.12 + 0.88 * a) + 6 * (rng.next() + rng.next() - 1);
      page[y * w + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  const s = stored({ data: page, width: w, height: h }, orientation);
  const img = sharp(s.data, { raw: { width: s.width, height: s.height, channels: 1 } })
    .toColourspace("srgb").tint({ r: 255, g: 236, b: 212 }).withMetadata({ orientation });
  return new Uint8Array(
    await (format === "webp" ? img.webp({ quality }) : img.jpeg({ quality, chromaSubsampling: "4:2:0" }))
      .toBuffer(),
  );
}

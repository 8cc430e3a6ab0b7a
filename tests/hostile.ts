// Hostile /verify requests as fast-check arbitraries, shared by the fuzz test
// (a few hundred cases in `deno task test`) and `deno task fuzz` (100,000):
// every image format the service reads, truncated, flipped, spliced, or
// declaring sizes it does not have.
import fc from "fast-check";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import sharp from "sharp";

/**
 * What a case must get back (its oracle): the exact status and error code
 * (`code: null` for a 200), or "framing" for malformed HTTP framing, where a
 * JSON 4xx, the HTTP layer's own bare 4xx, or a closed connection are all
 * acceptable (never a 5xx or a hang).
 */
export type Expect = { status: number; code: string | null } | "framing";
/** An oracle that names the exact status and code. */
export type Exact = Exclude<Expect, "framing">;

/** A request to send: by default POST /verify, headers and body. */
export interface Case {
  /** The generator that made it (tests/fuzz_gen.ts families: "b64.mixed", "mp.truncated", ...). */
  kind: string;
  headers: Record<string, string>;
  body: Uint8Array | string;
  /** Default "/verify". */
  path?: string;
  /** Default "POST". */
  method?: string;
  /** The whole request as bytes, for a raw socket only (transport cases): headers and body are then unused. */
  raw?: Uint8Array;
  /** With `raw`: shut the write side once sent (the request's body ends there, whatever it declared). */
  halfClose?: boolean;
  /** The oracle, when one exists; otherwise only the invariants are checked. */
  expect?: Expect;
}

const digit = (w: number, h: number) => {
  const g = new Uint8Array(w * h).fill(250);
  for (let y = 2; y < h - 2; y++) for (let x = (w >> 1) - 1; x <= (w >> 1) + 1; x++) g[y * w + x] = 10;
  return g;
};
const PNG = encodePng({ width: 24, height: 24, data: digit(24, 24), channels: 1, depth: 8 });
const RGBA = new Uint8Array(24 * 24 * 4).map((_, i) => (i % 4 === 3 ? 255 : digit(24, 24)[i >> 2]));
// A copy: jpeg-js gives a Node Buffer, whose slice() is a view (mutations would change the fixture).
const JPG = new Uint8Array(jpeg.encode({ width: 24, height: 24, data: RGBA }, 80).data);
export { JPG, PNG };
// The same digit in every other format the service reads, from real encoders
// (sharp's libwebp, cgif, libtiff, aom; tests/images for HEIC and 1-bit BMP).
const png24 = sharp(PNG);
const OTHERS = await Promise.all([
  png24.clone().webp({ quality: 80 }).toBuffer(),
  png24.clone().webp({ lossless: true }).toBuffer(),
  png24.clone().gif().toBuffer(),
  png24.clone().tiff({ compression: "deflate" }).toBuffer(),
  png24.clone().avif({ quality: 60 }).toBuffer(),
  png24.clone().jpeg({ quality: 80, progressive: true }).withMetadata({ orientation: 6 }).toBuffer(),
]).then((bs) => [
  ...bs.map((b) => new Uint8Array(b)),
  Deno.readFileSync(new URL("./images/seven.heic", import.meta.url)),
  Deno.readFileSync(new URL("./images/seven-1.bmp", import.meta.url)),
]);
export const GIF = OTHERS[2];
const BMP = OTHERS[7];

/**
 * Every image format the service reads, each a digit: 200, except where
 * `code` says otherwise (RLE BMP: bmpimagejs does not read it, tests/decode_test.ts).
 */
export const FIXTURES: { name: string; bytes: Uint8Array; code?: string }[] = [
  { name: "png-fastpng", bytes: PNG },
  { name: "jpeg-jpegjs", bytes: JPG },
  ...[
    "webp-lossy",
    "webp-lossless",
    "gif",
    "tiff-deflate",
    "avif",
    "jpeg-progressive-orient6",
    "heic",
    "bmp-1",
  ]
    .map((name, i) => ({ name, bytes: OTHERS[i] })),
  ...["seven.png", "seven-8.bmp", "seven-24.bmp", "seven-32v5.bmp", "seven-rle8.bmp"].map((f) => ({
    name: f,
    bytes: Deno.readFileSync(new URL(`./images/${f}`, import.meta.url)),
    ...(f.includes("rle") ? { code: "undecodable_image" } : {}),
  })),
  ...["mouse-0-0.png", "pencil-3-0.jpg", "typed-7-0.jpg", "phone-4-4.heic"].map((f) => ({
    name: `robust/${f}`,
    bytes: Deno.readFileSync(new URL(`../data/robust/${f}`, import.meta.url)),
  })),
];

const enc = new TextEncoder();
export const cat = (...parts: (Uint8Array | string)[]) => {
  const bs = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of bs) out.set(b, (o += b.length) - b.length);
  return out;
};

/** Multipart body by hand, so it can lie. */
function multipart(
  boundary: string,
  parts: { name: string; file?: boolean; data: Uint8Array | string }[],
  end = true,
) {
  const chunks: (Uint8Array | string)[] = [];
  for (const p of parts) {
    chunks.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${
        p.file ? `; filename="${p.name}.png"` : ""
      }\r\n`,
      p.file ? "Content-Type: application/octet-stream\r\n\r\n" : "\r\n",
      p.data,
      "\r\n",
    );
  }
  if (end) chunks.push(`--${boundary}--\r\n`);
  return cat(...chunks);
}

/** A PNG whose IHDR says anything (CRC not fixed: decoders must cope). */
export function lyingPng(w: number, h: number, depth: number, color: number, interlace: number): Uint8Array {
  const b = PNG.slice();
  const v = new DataView(b.buffer);
  v.setUint32(16, w);
  v.setUint32(20, h);
  b[24] = depth;
  b[25] = color;
  b[28] = interlace;
  return b;
}

/** A GIF or BMP whose header declares w x h (BMP: negative h is top-down). */
function lyingSize(src: Uint8Array, w: number, h: number): Uint8Array {
  const b = src.slice(), v = new DataView(b.buffer);
  if (src === GIF) [v.setUint16(6, w & 0xffff, true), v.setUint16(8, h & 0xffff, true)];
  else [v.setInt32(18, w | 0, true), v.setInt32(22, h | 0, true)];
  return b;
}

export const mutate = (src: Uint8Array) =>
  fc.oneof(
    fc.nat({ max: src.length }).map((n) => src.slice(0, n)),
    fc.array(fc.tuple(fc.nat({ max: src.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 8,
    })
      .map((flips) => {
        const b = src.slice();
        for (const [i, v] of flips) b[i] = v;
        return b;
      }),
    fc.tuple(fc.nat({ max: src.length }), fc.uint8Array({ maxLength: 64 })).map(([i, ins]) =>
      cat(src.subarray(0, i), ins, src.subarray(i))
    ),
  );

export const imageBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  mutate(PNG),
  mutate(JPG),
  fc.constantFrom(...OTHERS).chain(mutate),
  fc.constantFrom(...OTHERS),
  fc.tuple(
    fc.constantFrom(GIF, BMP),
    fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constant(30000)),
    fc.oneof(fc.constant(0), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constant(-30000)),
  ).map(([src, w, h]) => lyingSize(src, w, h)),
  fc.tuple(
    fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constant(30000)),
    fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constant(30000)),
    fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 16, 255),
    fc.constantFrom(0, 2, 3, 4, 5, 6, 7),
    fc.constantFrom(0, 1, 2),
  ).map(([w, h, d, c, i]) => lyingPng(w, h, d, c, i)),
  fc.uint8Array({ maxLength: 300 }),
  fc.constant(PNG),
  fc.constant(JPG),
);

const fieldName = fc.constantFrom(
  "a",
  "b",
  "threshold",
  "__proto__",
  "constructor",
  "prototype",
  "A",
  "",
  "a[]",
);

const multipartCase: fc.Arbitrary<Case> = fc.tuple(
  fc.oneof(fc.constant("XyZ"), fc.string({ minLength: 0, maxLength: 12 })),
  fc.array(
    fc.record({
      name: fieldName,
      file: fc.boolean(),
      data: fc.oneof(imageBytes, fc.string({ maxLength: 20 })),
    }),
    {
      maxLength: 4,
    },
  ),
  fc.boolean(),
  fc.oneof(fc.constant(-1), fc.nat({ max: 2000 })),
  fc.constantFrom(
    "multipart/form-data; boundary=",
    "multipart/form-data;boundary=",
    "multipart/form-data",
    "multipart/mixed; boundary=",
  ),
).map(([boundary, parts, end, cut, type]) => {
  const body = multipart(boundary, parts, end);
  return {
    kind: "multipart",
    headers: { "content-type": type.endsWith("=") ? type + boundary : type },
    body: cut >= 0 ? body.subarray(0, cut) : body,
  };
});

const pixelValue = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.double(),
  fc.constantFrom("NaN", "Infinity", "-1", "3", null, true, [], {}),
);
const pixelArray = fc.oneof(
  fc.constantFrom(783, 784, 785, 0).chain((n) => fc.array(pixelValue, { minLength: n, maxLength: n })),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 784, maxLength: 784 }),
);
const imageJson = fc.oneof(
  imageBytes.map((b) => b.toBase64()),
  imageBytes.map((b) => `data:image/png;base64,${b.toBase64()}`),
  fc.tuple(imageBytes, fc.string({ maxLength: 8 })).map(([b, junk]) => b.toBase64() + junk),
  fc.constantFrom("data:image/gif;base64,R0lGOD", "data:image/png,abc", "data:;base64,", "", "===="),
  pixelArray,
  fc.jsonValue({ maxDepth: 2 }),
);
const jsonCase: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ a: imageJson, b: imageJson, threshold: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 1 })) }, {
    requiredKeys: [],
  }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '{"__proto__": {"a": 1}}',
    '{"constructor": {"prototype": 1}}',
    "{",
    "[",
    "null",
    '{"a":1e999}',
  ),
).map((body) => ({ kind: "json", headers: { "content-type": "application/json" }, body }));

const otherCase: fc.Arbitrary<Case> = fc.tuple(
  fc.constantFrom(
    "",
    "text/plain",
    "image/png",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
  ),
  fc.oneof(imageBytes, fc.string({ maxLength: 30 })),
).map(([type, body]): Case => ({ kind: "other", headers: type ? { "content-type": type } : {}, body }));

/** A body just over `limit` bytes, declared with Content-Length or not. */
const oversizeCase = (limit: number): fc.Arbitrary<Case> =>
  fc.tuple(fc.boolean(), fc.nat({ max: 4096 })).map(([declare, extra]): Case => {
    const body = new Uint8Array(limit + 1 + extra).fill(0x41);
    return {
      kind: "oversize",
      headers: declare
        ? { "content-type": "application/json", "content-length": String(body.length) }
        : { "content-type": "application/json" },
      body,
    };
  });

/** Well-formed envelopes around hostile images: what reaches the decoders. */
const decoderCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(imageBytes, imageBytes).map(([a, b]): Case => ({
    kind: "multipart-images",
    headers: { "content-type": "multipart/form-data; boundary=XyZ" },
    body: multipart("XyZ", [{ name: "a", file: true, data: a }, { name: "b", file: true, data: b }]),
  })),
  fc.tuple(imageBytes, fc.oneof(imageBytes, fc.constant(PNG))).map(([a, b]): Case => ({
    kind: "json-images",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ a: a.toBase64(), b: `data:image/png;base64,${b.toBase64()}` }),
  })),
);

export const hostileCase = (limit: number): fc.Arbitrary<Case> =>
  fc.oneof(
    { weight: 3, arbitrary: multipartCase },
    { weight: 3, arbitrary: jsonCase },
    { weight: 4, arbitrary: decoderCase },
    { weight: 1, arbitrary: otherCase },
    { weight: 1, arbitrary: oversizeCase(limit) },
  );

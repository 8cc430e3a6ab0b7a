// Generators aimed at each parser's edges, for the fuzz campaign
// (tests/fuzz.ts): base64 and data: URLs (edge/inputs.ts fromBase64), JSON
// (depth, number forms, escapes, duplicate keys, __proto__), Content-Type
// parameters, multipart/form-data (edge/multipart.ts: boundaries, part
// headers, truncation), HTTP framing on a raw socket (chunked sizes,
// Content-Length lies) and image bytes of every format (truncated, flipped,
// lying sizes), against /verify and /embed. Each case carries its oracle
// (`expect`: the exact status and code) where the contract fixes one; the
// rest are held to the invariants only (no 5xx, known code, table status, no
// stack trace). A body over the limit is 413 body_too_large whatever it is
// (tests/fuzz_judge.ts applies that).
import fc from "fast-check";
import { ERROR_STATUS } from "../shared/errors.ts";
import {
  type Case,
  cat,
  type Exact,
  type Expect,
  FIXTURES,
  GIF,
  hostileCase,
  imageBytes,
  JPG,
  lyingPng,
  mutate,
  PNG,
} from "./hostile.ts";
import { png } from "./fixtures.ts";

type Code = keyof typeof ERROR_STATUS;
/** The answer of a valid request. */
const OK: Exact = { status: 200, code: null };
/** The answer of error `code`, at its table status. */
const err = (code: Code): Exact => ({ status: ERROR_STATUS[code], code });

const enc = new TextEncoder();
type Route = "/verify" | "/embed";
const FIELDS: Record<Route, string[]> = { "/verify": ["a", "b"], "/embed": ["image"] };
const route = fc.constantFrom<Route>("/verify", "/embed");
const JSON_TYPE = { "content-type": "application/json" };
const VALID_B64 = JSON.stringify(PNG.toBase64());

/** `s` with `ins` inserted at `at` (taken modulo s.length + 1). */
const insert = (s: string, at: number, ins: string) => {
  const i = at % (s.length + 1);
  return s.slice(0, i) + ins + s.slice(i);
};

/**
 * A JSON object: `value` (JSON text) as image field number `slot` of the
 * route, a valid PNG in its other image fields, then `extra` members
 * (",\"threshold\":0.5"). `escapeKeys` writes the keys as \u escapes.
 */
function jsonBody(path: Route, slot: number, value: string, extra = "", escapeKeys = false): string {
  const fields = FIELDS[path];
  const key = (f: string) =>
    escapeKeys
      ? `"${[...f].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`
      : `"${f}"`;
  const members = fields.map((f, i) => `${key(f)}:${i === slot % fields.length ? value : VALID_B64}`);
  return `{${members.join(",")}${extra}}`;
}

/** A JSON string literal for `s`, every `every`-th ASCII letter or digit written as a \u escape (same value). */
function literal(s: string, every: number): string {
  if (every <= 0) return JSON.stringify(s);
  let n = 0, out = '"';
  for (const c of s.split("")) { // UTF-16 units: a lone surrogate stays one
    if (/[A-Za-z0-9]/.test(c) && ++n % every === 0) out += `\\u00${c.charCodeAt(0).toString(16)}`;
    else out += JSON.stringify(c).slice(1, -1);
  }
  return out + '"';
}

const jsonCase = (kind: string, path: Route, body: string | Uint8Array, expect?: Expect): Case => ({
  kind,
  path,
  headers: JSON_TYPE,
  body,
  expect,
});

// ---------------------------------------------------------------------------
// Image bytes with known answers, for the layers above the decoders.

const BLANK_PNG = png(24, 24, new Uint8Array(576).fill(250));
/** PNG signature and IHDR (24x24), then garbage where the pixels were. */
const CORRUPT_PNG = PNG.slice().fill(0x55, 33, PNG.length - 12);
/** A small PNG whose header declares 30000x30000. */
const BOMB_PNG = lyingPng(30000, 30000, 8, 0, 0);

interface Payload {
  name: string;
  bytes: Uint8Array;
  expect: Exact;
}
/** Bytes whose answer is known once they arrive: a digit, not an image, blank, corrupt, too large. */
const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom({ name: "png", bytes: PNG, expect: OK }) },
  fc.constantFrom(
    { name: "jpeg", bytes: JPG, expect: OK },
    { name: "gif", bytes: GIF, expect: OK },
    { name: "blank", bytes: BLANK_PNG, expect: err("blank_image") },
    { name: "corrupt", bytes: CORRUPT_PNG, expect: err("undecodable_image") },
    { name: "bomb", bytes: BOMB_PNG, expect: err("image_too_large") },
  ),
  // "xxxxxxxx" first: no format's magic bytes (sniffFormat: at 0, or "ftyp" at 4).
  fc.string({ minLength: 0, maxLength: 40 }).map((s) => ({
    name: "text",
    bytes: enc.encode(`xxxxxxxx${s}`),
    expect: err("unsupported_image_format"),
  })),
  // Fewer than 12 bytes: never a format.
  fc.uint8Array({ minLength: 1, maxLength: 11 }).map((bytes) => ({
    name: "short",
    bytes,
    expect: err("unsupported_image_format"),
  })),
);

// ---------------------------------------------------------------------------
// Base64 (the contract of edge/inputs.ts fromBase64): standard or URL-safe
// alphabet, padded or not, ASCII whitespace anywhere; anything else 400.

/** ASCII whitespace as Uint8Array.fromBase64 skips it (not \v, not U+00A0). */
const WS = [" ", "\t", "\n", "\r", "\f"];
/** Never in base64: punctuation, controls, \v, non-ASCII (NEL, NBSP, LS, BOM, fullwidth A, emoji, lone surrogates). */
const BAD_CHARS = [
  "!",
  "*",
  ".",
  ":",
  "%",
  "~",
  "@",
  "$",
  "\\",
  '"',
  "\u0000",
  "\v",
  "\u0085",
  "\u00a0",
  "\u00e9",
  "\u2028",
  "\u3000",
  "\ufeff",
  "\uff21",
  "\ud83d\ude00",
  "\ud800",
  "\udfff",
];
/** Strings that are never base64 (from the contract's list and around it). */
const NOT_BASE64 = [
  "",
  " ",
  "\n\t \r\f",
  "=",
  "==",
  "===",
  "====",
  "A",
  "AB=",
  "J=",
  "A B=",
  "QQ=",
  "QUI==",
  "Q===",
  "A===",
  "QQ==QQ==",
  "QQ==Q",
  "QQ=Q",
  "-",
  "_",
  "+",
  "/",
  "QUJD+-",
  "QUJD/_",
];

type B64Mutation =
  | { t: "valid" }
  | { t: "mixed"; at: number; at2: number; ch: string; ch2: string }
  | { t: "badchar"; at: number; ch: string }
  | { t: "padmid"; at: number; pad: string }
  | { t: "padcount"; n: number }
  | { t: "len1"; at: number }
  | { t: "const"; s: string };

const b64Mutation: fc.Arbitrary<B64Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ t: "valid" as const }) },
  fc.record({
    t: fc.constant("mixed" as const),
    at: fc.nat(),
    at2: fc.nat(),
    ch: fc.constantFrom("+", "/"),
    ch2: fc.constantFrom("-", "_"),
  }),
  fc.record({ t: fc.constant("badchar" as const), at: fc.nat(), ch: fc.constantFrom(...BAD_CHARS) }),
  fc.record({ t: fc.constant("padmid" as const), at: fc.nat(), pad: fc.constantFrom("=", "==") }),
  fc.record({ t: fc.constant("padcount" as const), n: fc.nat(1) }),
  fc.record({ t: fc.constant("len1" as const), at: fc.nat() }),
  fc.record({ t: fc.constant("const" as const), s: fc.constantFrom(...NOT_BASE64) }),
);

interface B64 {
  s: string;
  kind: string;
  expect: Exact;
}

/** A base64 string of a payload in one of the accepted forms, or broken in one way (400 bad_base64). */
const b64String: fc.Arbitrary<B64> = fc.tuple(
  payload,
  fc.boolean(),
  fc.boolean(),
  b64Mutation,
  fc.array(fc.tuple(fc.nat(), fc.constantFrom(...WS)), { maxLength: 6 }),
).map(([p, padded, url, m, spaces]) => {
  const std = p.bytes.toBase64();
  const bare = std.replace(/=+$/, "");
  let data = url ? bare.replaceAll("+", "-").replaceAll("/", "_") : bare;
  const pad = padded ? std.slice(bare.length) : "";
  let s: string;
  let kind = `b64.${url ? "url" : "std"}-${padded ? "padded" : "unpadded"}${spaces.length ? "-ws" : ""}`;
  let expect = p.expect;
  const bad = err("bad_base64");
  switch (m.t) {
    case "valid":
      s = data + pad;
      break;
    case "mixed": // both alphabets: "+" or "/" with "-" or "_"
      data = bare.replaceAll("+", "-").replaceAll("/", "_");
      s = insert(insert(data, m.at, m.ch), m.at2, m.ch2) + pad;
      [kind, expect] = ["b64.mixed-alphabets", bad];
      break;
    case "badchar":
      s = insert(data + pad, m.at, m.ch);
      [kind, expect] = ["b64.bad-char", bad];
      break;
    case "padmid": // padding with an alphabet character after it
      s = insert(data.slice(0, -1), m.at, m.pad) + data.slice(-1) + pad;
      [kind, expect] = ["b64.padding-mid-string", bad];
      break;
    case "padcount": { // the wrong number of "=" for the length
      const wrong = { 0: ["=", "=="], 2: ["=", "==="], 3: ["==", "==="] }[data.length % 4 as 0 | 2 | 3];
      s = data + wrong[m.n];
      [kind, expect] = ["b64.padding-count", bad];
      break;
    }
    case "len1": { // 4q+1 characters: a lone 6 bits
      const q = m.at % (Math.floor((data.length - 1) / 4) + 1);
      s = data.slice(0, 4 * q + 1);
      [kind, expect] = ["b64.length-4q+1", bad];
      break;
    }
    case "const":
      s = m.s;
      [kind, expect] = ["b64.never", bad];
  }
  for (const [at, w] of spaces) s = insert(s, at, w);
  // Whitespace alone decodes to nothing: still 400.
  return { s, kind, expect: p.bytes.length === 0 ? bad : expect };
});

/** The string in a JSON body to /verify or /embed, with some characters as \u escapes (same value). */
const b64Case: fc.Arbitrary<Case> = fc.tuple(b64String, route, fc.nat(1), fc.constantFrom(0, 0, 0, 1, 3)).map(
  (
    [b, path, slot, every],
  ) => jsonCase(b.kind, path, jsonBody(path, slot, literal(b.s, every)), b.expect),
);

// ---------------------------------------------------------------------------
// data: URLs: data:image/<subtype>[;params];base64,<b64>, case-insensitive;
// a type that is not image/... is 415, an image type without ;base64 is 400.

const IMAGE_TYPES = [
  "image/png",
  "image/jpeg",
  "IMAGE/PNG",
  "Image/Gif",
  "image/svg+xml",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/heic",
  "image/webp",
  "image/avif",
  "image/x.y-z+w",
];
const NOT_IMAGE_TYPES = [
  "",
  "text/plain",
  "application/octet-stream",
  "image",
  "image/",
  "imagex/png",
  "x-image/png",
  "application/image+png",
  "video/mp4",
  "text/html",
  "image/p ng",
  "image/p\u00f1g",
  "image//png",
  "image/png/x",
];
const PARAMS = [
  ";charset=utf-8",
  ";name=a.png",
  ";CHARSET=US-ASCII",
  ";x",
  ';filename="a b.png"',
  ";q=0.5",
  ";base64x",
  ";",
];
/** [text, is it the base64 marker]: only a last ";base64" (any case) is. */
const ENCODINGS: [string, boolean][] = [
  [";base64", true],
  [";base64", true],
  [";BASE64", true],
  [";Base64", true],
  ["", false],
  [";base-64", false],
  [";base64 ", false],
  [";bas64", false],
  [";base64;", false],
  [";base64=1", false],
];

const dataUrlCase: fc.Arbitrary<Case> = fc.tuple(
  fc.constantFrom("data:", "data:", "DATA:", "Data:"),
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...IMAGE_TYPES) }, fc.constantFrom(...NOT_IMAGE_TYPES)),
  fc.array(fc.constantFrom(...PARAMS), { maxLength: 3 }),
  fc.constantFrom(...ENCODINGS),
  b64String,
  route,
  fc.nat(1),
  fc.constantFrom(0, 0, 2),
).map(([scheme, type, params, [encoding, isBase64], b, path, slot, every]) => {
  const s = `${scheme}${type}${params.join("")}${encoding},${b.s}`;
  const image = IMAGE_TYPES.includes(type);
  const [kind, expect] = !image
    ? ["dataurl.not-image-type", err("unsupported_image_format")]
    : !isBase64
    ? ["dataurl.not-base64", err("bad_base64")]
    : [`dataurl.${b.kind}`, b.expect];
  return jsonCase(kind, path, jsonBody(path, slot, literal(s, every)), expect);
});

/** Near-misses of a data: URL that are no data: URL at all (400), and odd spellings held only to the invariants. */
const dataUrlOddCase: fc.Arbitrary<Case> = fc.tuple(
  fc.oneof(
    fc.constantFrom(" data:", "data :", "dat:", "data;", "data:image/png;base64"),
    fc.constantFrom(
      "data: image/png;base64,",
      "data:image/png ;base64,",
      "data:\timage/png;base64,",
      "data:image/png;base64 ,",
      'data:image/png;name="a,b";base64,',
      "data:image/png;base64,data:image/png;base64,",
      "data:image/png;;base64,",
    ),
  ),
  route,
  fc.nat(1),
).map(([prefix, path, slot]) => {
  const s = prefix + PNG.toBase64();
  // Without "data:" then a "," it is one base64 string, with ":" or ";" in it.
  const notUrl = !/^data:[^,]*,/i.test(s);
  return jsonCase(
    notUrl ? "dataurl.near-miss" : "dataurl.odd",
    path,
    jsonBody(path, slot, JSON.stringify(s)),
    notUrl ? err("bad_base64") : undefined,
  );
});

// ---------------------------------------------------------------------------
// JSON: depth, number forms, escapes, invalid UTF-8, duplicate keys, __proto__.

const depth = fc.oneof(
  fc.integer({ min: 1, max: 100 }),
  fc.integer({ min: 100, max: 5000 }),
  fc.integer({ min: 5000, max: 300_000 }),
);
const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);
const deepObject = (n: number) => '{"x":'.repeat(n) + "1" + "}".repeat(n);

const jsonDepthCase: fc.Arbitrary<Case> = fc.tuple(
  depth,
  fc.constantFrom(
    "top-array",
    "top-object",
    "field-array",
    "field-object",
    "sibling",
    "threshold",
    "unclosed",
  ),
  route,
  fc.nat(1),
).map(([n, where, path, slot]) => {
  const t: Record<string, [string, Exact]> = {
    "top-array": [deepArray(n), err("bad_request")],
    "top-object": [deepObject(n), err("missing_field")],
    "field-array": [jsonBody(path, slot, deepArray(n)), err("bad_pixels")],
    "field-object": [jsonBody(path, slot, deepObject(n)), err("bad_request")],
    sibling: [jsonBody(path, slot, VALID_B64, `,"x":${deepArray(n)}`), OK],
    threshold: [jsonBody("/verify", slot, VALID_B64, `,"threshold":${deepArray(n)}`), err("bad_threshold")],
    unclosed: ["[".repeat(n), err("bad_request")],
  };
  const [body, expect] = t[where];
  return jsonCase(`json.depth-${where}`, where === "threshold" ? "/verify" : path, body, expect);
});

/** Threshold literals by answer (the JSON text as sent). */
const THRESHOLDS: [string, Exact][] = [
  ...[
    "0",
    "1",
    "-0",
    "0.5",
    "1e-400",
    "5e-324",
    "1E0",
    "1e+0",
    "0.99999999999999999999",
    "1.0000000000000001",
  ]
    .map((t): [string, Exact] => [t, OK]),
  ...["0e0", "-0.0", "1.0", "0.0765", "null", '"0.5"', '"0"', '"1"', '""'].map((
    t,
  ): [string, Exact] => [t, OK]),
  ...[
    "1e309",
    "-1e309",
    "2",
    "-0.0001",
    "123456789012345678901234567890",
    "1.0000001",
    "-1",
    "1e1",
    '"NaN"',
    '"Infinity"',
    '"-Infinity"',
    '"abc"',
    '"2"',
    '"-1"',
    '"\\ud800"',
    "true",
    "false",
    "[]",
    "{}",
    "[0.5]",
    '{"value":0.5}',
  ].map((t): [string, Exact] => [t, err("bad_threshold")]),
  ...[
    "0x1",
    "NaN",
    "Infinity",
    "-Infinity",
    "+1",
    ".5",
    "01",
    "1.",
    "-",
    "1e",
    "0b1",
    "1_000",
    "0.5.5",
    "--1",
  ]
    .map((t): [string, Exact] => [t, err("bad_request")]),
  ...["1e+", "undefined", "'0.5'", "0.5,", "0. 5"].map((t): [string, Exact] => [t, err("bad_request")]),
];
/** Strings Number() reads, with no fixed answer in the contract: only the invariants. */
const THRESHOLDS_LOOSE = ['" "', '"0x1"', '"1e-3"', '" 0.5 "', '"0b1"', '"\\t"'];

const jsonNumberCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(fc.constantFrom(...THRESHOLDS), fc.nat(1)).map(([[t, expect], slot]) =>
    jsonCase("json.threshold", "/verify", jsonBody("/verify", slot, VALID_B64, `,"threshold":${t}`), expect)
  ),
  fc.tuple(fc.constantFrom(...THRESHOLDS_LOOSE), route).map(([t, path]) =>
    jsonCase("json.threshold-loose", path, jsonBody(path, 0, VALID_B64, `,"threshold":${t}`))
  ),
);

/** A 28x28 bar on black, as MNIST: 200 as a pixel array. */
const DIGIT = Array.from(
  { length: 784 },
  (_, i) => (i % 28 >= 12 && i % 28 <= 15 && i > 28 * 4 && i < 28 * 24 ? 255 : 0),
);
const PIXELS: [string, Exact][] = [
  ...["-0", "255", "255.0", "2.55e2", "0.1", "1e-400", "0E0", "254.9999", "0.0"].map((
    t,
  ): [string, Exact] => [t, OK]),
  ...["256", "-1", "1e309", "-1e309", "255.0001", "1e3", '"3"', "null", "true", "[]", "{}", '"NaN"', "-0.5"]
    .map((t): [string, Exact] => [t, err("bad_pixels")]),
  ...["NaN", "Infinity", "0x10", "+1", ".5", "01", "1."].map((t): [string, Exact] => [t, err("bad_request")]),
];

const jsonPixelsCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(fc.constantFrom(...PIXELS), fc.nat(783), route, fc.nat(1)).map(([[t, expect], at, path, slot]) => {
    const px = DIGIT.map(String);
    px[at] = t;
    return jsonCase("json.pixel-value", path, jsonBody(path, slot, `[${px.join(",")}]`), expect);
  }),
  fc.tuple(fc.constantFrom(0, 1, 783, 785, 1568), route, fc.nat(1)).map(([n, path, slot]) =>
    jsonCase(
      "json.pixel-count",
      path,
      jsonBody(path, slot, JSON.stringify(Array.from({ length: n }, (_, i) => DIGIT[i % 784]))),
      err("bad_pixels"),
    )
  ),
  fc.tuple(fc.constantFrom(0, 255, 7), route, fc.nat(1)).map(([v, path, slot]) =>
    jsonCase(
      "json.pixel-uniform",
      path,
      jsonBody(path, slot, JSON.stringify(new Array(784).fill(v))),
      err("blank_image"),
    )
  ),
);

/** Bytes that are not UTF-8 (lone continuation, overlong, CESU surrogate, cut sequence, 0xFF). */
const BAD_UTF8 = [[0x80], [0xc0, 0x80], [0xc1, 0x81], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [
  0xf8,
  0x88,
  0x80,
  0x80,
  0x80,
]];

const jsonUnicodeCase: fc.Arbitrary<Case> = fc.oneof(
  // Keys as \u escapes: the same keys.
  fc.tuple(b64String, route, fc.nat(1)).map(([b, path, slot]) =>
    jsonCase(
      `json.escaped-keys-${b.kind}`,
      path,
      jsonBody(path, slot, JSON.stringify(b.s), "", true),
      b.expect,
    )
  ),
  // A lone surrogate or other near-key: not the field.
  fc.tuple(fc.constantFrom("a\\ud800", "\\ud800", "a\\u0000", "\\u0061\\u0301", "A", "a "), fc.nat(1)).map((
    [key, slot],
  ) =>
    jsonCase(
      "json.near-key",
      "/verify",
      slot ? `{"a":${VALID_B64},"${key}":${VALID_B64}}` : `{"${key}":${VALID_B64},"b":${VALID_B64}}`,
      err("missing_field"),
    )
  ),
  // Escapes JSON does not have, raw control characters in a string: malformed.
  fc.tuple(
    fc.constantFrom("\\x41", "\\u12G4", "\\uZZZZ", "\\a", "\\'", "\\q", "\t", "\n", "\u0000"),
    fc.nat(),
    route,
    fc.nat(1),
  )
    .map(([bad, at, path, slot]) => {
      const s = PNG.toBase64();
      const lit = `"${insert(s, at, bad)}"`;
      return jsonCase("json.bad-escape", path, jsonBody(path, slot, lit), err("bad_request"));
    }),
  // Bytes that are not UTF-8: inside the string they become U+FFFD (not base64), between tokens malformed JSON.
  fc.tuple(fc.constantFrom(...BAD_UTF8), fc.nat(), fc.boolean(), route, fc.nat(1)).map(
    ([bad, at, inside, path, slot]) => {
      const [left, right] =
        (inside
          ? jsonBody(path, slot, `"${insert(PNG.toBase64(), at, "@@")}"`)
          : `{@@${jsonBody(path, slot, VALID_B64).slice(1)}`)
          .split("@@");
      return jsonCase(
        inside ? "json.bad-utf8-in-string" : "json.bad-utf8-between-tokens",
        path,
        cat(left, Uint8Array.from(bad), right),
        err(inside ? "bad_base64" : "bad_request"),
      );
    },
  ),
  // Valid UTF-8 that is not ASCII, inside the string: not base64.
  fc.tuple(fc.constantFrom("\u00e9", "\u20ac", "\u{1f600}", "\u0301"), fc.nat(), route, fc.nat(1)).map((
    [ch, at, path, slot],
  ) =>
    jsonCase(
      "json.utf8-in-string",
      path,
      enc.encode(jsonBody(path, slot, `"${insert(PNG.toBase64(), at, ch)}"`)),
      err("bad_base64"),
    )
  ),
  // A byte order mark, UTF-16: no fixed answer for the BOM; UTF-16 is not JSON here.
  fc.tuple(route, fc.boolean()).map(([path, bom]) => {
    const body = jsonBody(path, 0, VALID_B64);
    if (bom) return jsonCase("json.bom", path, cat(Uint8Array.of(0xef, 0xbb, 0xbf), body));
    const u16 = new Uint8Array(body.length * 2);
    for (let i = 0; i < body.length; i++) u16[2 * i] = body.charCodeAt(i);
    return jsonCase("json.utf16", path, cat(Uint8Array.of(0xff, 0xfe), u16), err("bad_request"));
  }),
);

/** A field value and its answer, for duplicates. */
const fieldValue: fc.Arbitrary<[string, Exact]> = fc.oneof(
  fc.constant<[string, Exact]>([VALID_B64, OK]),
  b64String.map((b): [string, Exact] => [JSON.stringify(b.s), b.expect]),
  fc.constantFrom<[string, Exact]>(
    ["null", err("missing_field")],
    ["[1,2,3]", err("bad_pixels")],
    ["1", err("bad_request")],
    ["{}", err("bad_request")],
  ),
);

const jsonKeysCase: fc.Arbitrary<Case> = fc.oneof(
  // Duplicate keys: the last one counts (JSON.parse).
  fc.tuple(fieldValue, fieldValue, route, fc.nat(1)).map(([[x], [y, expect], path, slot]) => {
    const f = FIELDS[path][slot % FIELDS[path].length];
    const others = FIELDS[path].filter((g) => g !== f).map((g) => `,"${g}":${VALID_B64}`).join("");
    return jsonCase("json.duplicate-key", path, `{"${f}":${x},"${f}":${y}${others}}`, expect);
  }),
  // __proto__ and friends: own data properties, never the prototype.
  fc.tuple(
    fc.constantFrom<[(path: Route) => string, Exact]>(
      [(p) => `{"__proto__":${jsonBody(p, 0, VALID_B64)}}`, err("missing_field")],
      [() => `{"__proto__":null}`, err("missing_field")],
      [(p) => `{"__proto__":{"x":1},${jsonBody(p, 0, VALID_B64).slice(1)}`, OK],
      [(p) => jsonBody(p, 0, VALID_B64, `,"__proto__":{"threshold":2}`), OK],
      [(p) => jsonBody(p, 0, VALID_B64, `,"constructor":{"prototype":{"a":1}}`), OK],
      [(p) => jsonBody(p, 0, VALID_B64, `,"hasOwnProperty":1,"toString":1,"valueOf":null`), OK],
      [(p) => jsonBody(p, 0, VALID_B64, `,"__proto__":[]`), OK],
      [(p) => `{"constructor":{"prototype":${jsonBody(p, 0, VALID_B64)}}}`, err("missing_field")],
    ),
    route,
  ).map(([[make, expect], path]) => jsonCase("json.proto", path, make(path), expect)),
  // Shapes: not an object, missing or mistyped fields, trailing garbage.
  fc.tuple(
    fc.constantFrom<[(path: Route) => string, Exact]>(
      [() => "null", err("bad_request")],
      [() => "[]", err("bad_request")],
      [() => '"a"', err("bad_request")],
      [() => "1", err("bad_request")],
      [() => "true", err("bad_request")],
      [() => "[{}]", err("bad_request")],
      [() => "", err("bad_request")],
      [() => "   ", err("bad_request")],
      [() => "{}", err("missing_field")],
      [(p) => jsonBody(p, 0, "true"), err("bad_request")],
      [(p) => jsonBody(p, 0, "{}"), err("bad_request")],
      [(p) => jsonBody(p, 0, "null"), err("missing_field")],
      [(p) => jsonBody(p, 0, VALID_B64) + "x", err("bad_request")],
      [(p) => jsonBody(p, 0, VALID_B64) + "{}", err("bad_request")],
      [(p) => ` \n\t${jsonBody(p, 0, VALID_B64)}\r\n `, OK],
      [(p) => jsonBody(p, 0, VALID_B64).slice(0, -1), err("bad_request")],
    ),
    route,
  ).map(([[make, expect], path]) => jsonCase("json.shape", path, make(path), expect)),
);

// ---------------------------------------------------------------------------
// Content-Type: the media type decides (case-insensitive, parameters after ";").

const JSON_TYPES_OK = [
  "application/json",
  "Application/JSON",
  "application/json; charset=utf-8",
  "application/json;charset=UTF-8",
  "application/json; charset=latin1",
  " application/json ",
  "application/json; foo=bar; baz",
  "application/json;",
  "application/json ; charset=utf-8",
];
const TYPES_REFUSED = [
  "",
  "text/json",
  "application/jsonp",
  "application/json+x",
  "application/x-json",
  "json",
  "text/plain",
  "*/*",
  "application/*",
  "application/json, text/plain",
  "application/x-www-form-urlencoded",
  "multipart/mixed; boundary=B",
  "multipart/form-data-x; boundary=B",
  "image/png",
  ";application/json",
  "application/ json",
];

const contentTypeCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(fc.constantFrom(...JSON_TYPES_OK), route).map(([type, path]) => ({
    kind: "ctype.json-ok",
    path,
    headers: { "content-type": type },
    body: jsonBody(path, 0, VALID_B64),
    expect: OK,
  })),
  fc.tuple(fc.constantFrom(...TYPES_REFUSED), route, fc.boolean()).map(([type, path, json]): Case => ({
    kind: "ctype.refused",
    path,
    headers: type ? { "content-type": type } : {},
    body: json ? jsonBody(path, 0, VALID_B64) : multipartBody("B", validParts(path)).body,
    expect: err("unsupported_media_type"),
  })),
  // The multipart parameters: boundary quoted, any case, among others; missing, empty, too long or wrong.
  fc.tuple(
    fc.constantFrom<[string, Exact | undefined]>(
      ["multipart/form-data; boundary=BnD", OK],
      ["Multipart/Form-Data; BOUNDARY=BnD", OK],
      ['multipart/form-data; boundary="BnD"', OK],
      ["multipart/form-data; charset=utf-8; boundary=BnD", OK],
      ["multipart/form-data;boundary=BnD;foo=bar", OK],
      ["multipart/form-data ; boundary=BnD", OK],
      ["multipart/form-data; boundary = BnD", undefined],
      ["multipart/form-data; boundary=BnD; boundary=other", undefined],
      ["multipart/form-data; boundary=other; boundary=BnD", undefined],
      ["multipart/form-data", err("bad_request")],
      ["multipart/form-data;", err("bad_request")],
      ["multipart/form-data; boundary=", err("bad_request")],
      ['multipart/form-data; boundary=""', err("bad_request")],
      ["multipart/form-data; boundary=bnd", err("bad_request")],
      ["multipart/form-data; boundary=BnDx", err("bad_request")],
      ["multipart/form-data; xboundary=BnD", err("bad_request")],
      [`multipart/form-data; boundary=${"x".repeat(201)}`, err("bad_request")],
    ),
    route,
  ).map(([[type, expect], path]) => ({
    kind: "ctype.multipart-params",
    path,
    headers: { "content-type": type },
    body: multipartBody("BnD", validParts(path)).body,
    expect,
  })),
  // JSON sent as multipart, multipart sent as JSON.
  route.map((path) => ({
    kind: "ctype.crossed",
    path,
    headers: { "content-type": "multipart/form-data; boundary=BnD" },
    body: jsonBody(path, 0, VALID_B64),
    expect: err("bad_request"),
  })),
  route.map((path) => ({
    kind: "ctype.crossed",
    path,
    headers: JSON_TYPE,
    body: multipartBody("BnD", validParts(path)).body,
    expect: err("bad_request"),
  })),
);

// ---------------------------------------------------------------------------
// multipart/form-data: boundaries, part headers, truncation.

interface Part {
  head: string;
  data: Uint8Array | string;
}
const fileHead = (name: string, type = "image/png") =>
  `Content-Disposition: form-data; name="${name}"; filename="${name}.png"\r\nContent-Type: ${type}`;
const validParts = (path: Route): Part[] => FIELDS[path].map((f) => ({ head: fileHead(f), data: PNG }));

/**
 * A multipart body as curl writes it, with an optional preamble, transport
 * padding after each boundary and an epilogue. `closeEnd` is where the
 * closing "--boundary--" ends: a body cut before it is incomplete.
 * `clean` is false when the delimiter occurs inside a part (no oracle then).
 */
function multipartBody(
  boundary: string,
  parts: Part[],
  opts: { preamble?: string; padding?: string; epilogue?: string } = {},
) {
  const chunks: (Uint8Array | string)[] = [];
  if (opts.preamble !== undefined) chunks.push(`${opts.preamble}\r\n`);
  for (const p of parts) {
    chunks.push(`--${boundary}${opts.padding ?? ""}\r\n${p.head}\r\n\r\n`, p.data, "\r\n");
  }
  chunks.push(`--${boundary}--`);
  const closeEnd = cat(...chunks).length;
  chunks.push(opts.epilogue ?? "\r\n");
  const body = cat(...chunks);
  const delim = enc.encode(`\r\n--${boundary}`);
  const inside = [opts.preamble ?? "", ...parts.flatMap((p) => [p.head, p.data])];
  const clean = inside.every((x) => !contains(typeof x === "string" ? enc.encode(x) : x, delim));
  return { body, closeEnd, clean };
}
/** Whether `needle` occurs in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  for (
    let i = hay.indexOf(needle[0]);
    i >= 0 && i + needle.length <= hay.length;
    i = hay.indexOf(needle[0], i + 1)
  ) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}
const latin1 = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};

/** RFC 2046 boundary characters; those after "_" are tspecials (the boundary is then quoted). */
const BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_'+.()/:=?, ";
const boundary: fc.Arbitrary<{ b: string; header: string; valid: boolean }> = fc.oneof(
  fc.constantFrom(
    "B",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "--",
    "-",
    "x".repeat(70),
    "a'()+_,-./:=?b",
    "a b",
  )
    .map((b) => ({ b, header: /^[A-Za-z0-9'+_.-]+$/.test(b) ? b : `"${b}"`, valid: true })),
  fc.string({ unit: fc.constantFrom(...BCHARS), minLength: 1, maxLength: 70 })
    .filter((b) => !b.endsWith(" "))
    .chain((b) =>
      fc.boolean().map((quote) => ({
        b,
        header: quote || !/^[A-Za-z0-9'+_.-]+$/.test(b) ? `"${b}"` : b,
        valid: true,
      }))
    ),
  // Longer than RFC 2046's 70 (accepted up to 200: no oracle), then over 200 (refused).
  fc.integer({ min: 71, max: 260 }).map((n) => ({ b: "b".repeat(n), header: "b".repeat(n), valid: n <= 70 })),
);

/**
 * Part headers for the field `{f}` and what a parser must read from them:
 * the part's name ("{f}", another name, or "error": no form-data name, a
 * malformed body) and whether it is a file; undefined: no fixed answer.
 */
const DISPOSITIONS: [string, string, { name: "{f}" | "other" | "error"; file: boolean } | undefined][] = [
  ...([
    ["plain", 'Content-Disposition: form-data; name="{f}"; filename="{f}.png"'],
    ["header-lowercase", 'content-disposition: form-data; name="{f}"; filename="{f}.png"'],
    ["all-uppercase", 'CONTENT-DISPOSITION: FORM-DATA; NAME="{f}"; FILENAME="{f}.png"'],
    ["unquoted", "Content-Disposition: form-data; name={f}; filename={f}.png"],
    ["filename-first", 'Content-Disposition: form-data; filename="{f}.png"; name="{f}"'],
    ["no-spaces", 'Content-Disposition: form-data;name="{f}";filename="{f}.png"'],
    ["no-space-after-colon", 'Content-Disposition:form-data; name="{f}"; filename="{f}.png"'],
    ["filename-empty", 'Content-Disposition: form-data; name="{f}"; filename=""'],
    ["filename-star", "Content-Disposition: form-data; name=\"{f}\"; filename*=UTF-8''%E2%82%AC%20rates.png"],
    [
      "filename-star-and-plain",
      'Content-Disposition: form-data; name="{f}"; filename*=utf-8\'\'a.png; filename="a.png"',
    ],
    [
      "filename-utf8",
      'Content-Disposition: form-data; name="{f}"; filename="\u00e9t\u00e9 \u5199\u771f.png"',
    ],
    ["filename-escaped-quote", 'Content-Disposition: form-data; name="{f}"; filename="a\\"b.png"'],
    ["filename-semicolon", 'Content-Disposition: form-data; name="{f}"; filename="a;b.png"'],
    ["filename-backslashes", 'Content-Disposition: form-data; name="{f}"; filename="C:\\\\photos\\\\a.png"'],
    // A quoted filename holding "; name=": the quotes must keep it out of the name.
    ["filename-quoting-name", 'Content-Disposition: form-data; filename="x; name=q.png"; name="{f}"'],
  ] as const).map((
    [label, h],
  ): [string, string, { name: "{f}"; file: boolean }] => [label, h, { name: "{f}", file: true }]),
  ["not-a-file", 'Content-Disposition: form-data; name="{f}"', { name: "{f}", file: false }],
  ["no-disposition", "Content-Type: image/png", { name: "error", file: true }],
  ["attachment", 'Content-Disposition: attachment; name="{f}"; filename="{f}.png"', {
    name: "error",
    file: true,
  }],
  ["no-name", 'Content-Disposition: form-data; filename="{f}.png"', { name: "error", file: true }],
  ["name-empty", 'Content-Disposition: form-data; name=""; filename="a.png"', { name: "other", file: true }],
  ["name-uppercase", 'Content-Disposition: form-data; name="{F}"; filename="{f}.png"', {
    name: "other",
    file: true,
  }],
  ["name-trailing-space", 'Content-Disposition: form-data; name="{f} "; filename="{f}.png"', {
    name: "other",
    file: true,
  }],
  ["name-non-ascii", 'Content-Disposition: form-data; name="\u00e4"; filename="{f}.png"', {
    name: "other",
    file: true,
  }],
  // No fixed answer: RFC 5987 name*, a repeated name parameter, spaces around "=", a folded line.
  ["name-star", "Content-Disposition: form-data; name*=UTF-8''{f}; filename=\"{f}.png\"", undefined],
  ["name-twice", 'Content-Disposition: form-data; name="{f}"; name="zz"; filename="{f}.png"', undefined],
  ["spaces-around-equals", 'Content-Disposition: form-data; name = "{f}"; filename="{f}.png"', undefined],
  ["folded", 'Content-Disposition: form-data;\r\n name="{f}"; filename="{f}.png"', undefined],
];
/** Extra header lines of a part, and whether they break the body (headers over 16 KiB). */
const PART_HEADERS: [string, string, boolean][] = [
  ["", "", false],
  ["type-png", "\r\nContent-Type: image/png", false],
  ["type-text", "\r\nContent-Type: text/plain; charset=utf-8", false],
  ["type-garbage", "\r\nContent-Type: ;;;", false],
  ["cte-binary", "\r\nContent-Transfer-Encoding: binary", false],
  ["header-1k", `\r\nX-Pad: ${"p".repeat(1024)}`, false],
  ["header-20k", `\r\nX-Pad: ${"p".repeat(20 * 1024)}`, true],
];

/** A part as the parser must read it. */
interface ModelPart extends Part {
  name: string | null;
  file: boolean;
}
const textPart = (name: string, data: string): ModelPart => ({
  head: `Content-Disposition: form-data; name="${name}"`,
  data,
  name,
  file: false,
});
const filePart = (name: string): ModelPart => ({ head: fileHead(name), data: PNG, name, file: true });

/**
 * The answer for these parts (all images valid PNGs): any malformed part is
 * 400 bad_request; then each image field in order must be there once, as a
 * file; then the threshold, at most once, a number in 0..1.
 */
function answer(parts: ModelPart[], fields: string[], broken: boolean): Exact {
  if (broken || parts.length > 32 || parts.some((p) => p.name === null)) return err("bad_request");
  for (const f of fields) {
    const mine = parts.filter((p) => p.name === f);
    if (mine.length === 0) return err("missing_field");
    if (mine.length > 1 || !mine[0].file) return err("bad_request");
  }
  const t = parts.filter((p) => p.name === "threshold");
  if (t.length > 1) return err("bad_request");
  if (t.length && !(Number(t[0].data) >= 0 && Number(t[0].data) <= 1)) return err("bad_threshold");
  return OK;
}

const mpPartsCase: fc.Arbitrary<Case> = fc.tuple(
  boundary,
  fc.constantFrom(...DISPOSITIONS),
  fc.constantFrom(...PART_HEADERS),
  fc.constantFrom(
    "none",
    "duplicate",
    "unknown-fields",
    "threshold",
    "threshold-bad",
    "threshold-twice",
    "33-parts",
    "preamble",
    "padding",
  ),
  route,
  fc.nat(1),
  fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, fc.nat()),
).map(([bd, [label, disp, read], [extraLabel, extra, broken], more, path, slot, cut]) => {
  const fields = FIELDS[path];
  const f = fields[slot % fields.length];
  const parts: ModelPart[] = fields.map((g) =>
    g === f
      ? {
        head: disp.replaceAll("{f}", f).replaceAll("{F}", f.toUpperCase()) + extra,
        data: PNG,
        name: read?.name === "error" ? null : read?.name === "other" ? "(other)" : f,
        file: read?.file ?? true,
      }
      : filePart(g)
  );
  const opts: { preamble?: string; padding?: string } = {};
  if (more === "duplicate") parts.push(filePart(f));
  if (more === "unknown-fields") parts.push(filePart("c"), textPart("__proto__", "1"), textPart("A", "x"));
  if (more.startsWith("threshold")) {
    parts.push(textPart("threshold", more === "threshold-bad" ? "abc" : "0.5"));
  }
  if (more === "threshold-twice") parts.push(textPart("threshold", "0.25"));
  if (more === "33-parts") { while (parts.length < 33) parts.push(textPart("z", "z")); }
  if (more === "preamble") opts.preamble = "This is a preamble; it is ignored.";
  if (more === "padding") opts.padding = " \t ";
  const { body, closeEnd, clean } = multipartBody(bd.b, parts, opts);
  let expect: Exact | undefined = read && bd.valid && clean ? answer(parts, fields, broken) : undefined;
  const at = cut >= 0 ? cut % (body.length + 1) : body.length;
  // Cut before the closing boundary: incomplete, whatever it held.
  if (at < closeEnd && bd.valid && clean) expect = err("bad_request");
  if (bd.header.replace(/^"|"$/g, "").length > 200) expect = err("bad_request");
  // Named by its oddest part, so that one bug tends to be one signature.
  const kind = at < closeEnd
    ? "truncated"
    : label !== "plain"
    ? `disposition-${label}`
    : extraLabel
    ? `part-header-${extraLabel}`
    : bd.b.length > 70
    ? "boundary-long"
    : `parts-${more}`;
  return {
    kind: `mp.${kind}`,
    path,
    headers: { "content-type": `multipart/form-data; boundary=${bd.header}` },
    body: body.subarray(0, at),
    expect,
  };
});

/** Framing oddities: bare LF lines, no closing boundary, nothing after the boundary, a part with no header block. */
const mpFramingCase: fc.Arbitrary<Case> = fc.tuple(
  fc.constantFrom<[string, (b: Uint8Array) => Uint8Array, Exact | undefined]>(
    ["lf-only", (b) => enc.encode(latin1(b).replaceAll("\r\n", "\n")), undefined],
    ["no-close", (b) => b.subarray(0, latin1(b).lastIndexOf("--BnD--")), err("bad_request")],
    [
      "close-without-dashes",
      (b) => enc.encode(latin1(b).replace(/--BnD--\r\n$/, "--BnD\r\n")),
      err("bad_request"),
    ],
    ["empty", () => new Uint8Array(0), err("bad_request")],
    ["only-close", () => enc.encode("--BnD--\r\n"), err("missing_field")],
    ["no-headers", () => enc.encode("--BnD\r\n\r\nxx\r\n--BnD--\r\n"), err("bad_request")],
    [
      "garbage-after-boundary",
      (b) => enc.encode(latin1(b).replace("--BnD\r\n", "--BnDjunk\r\n")),
      err("bad_request"),
    ],
    ["nul-in-headers", (b) => enc.encode(latin1(b).replace('name="', 'na\u0000me="')), err("bad_request")],
  ).map(([name, f, expect]) => ({ name, f, expect })),
  route,
).map(([{ name, f, expect }, path]) => ({
  kind: `mp.framing-${name}`,
  path,
  headers: { "content-type": "multipart/form-data; boundary=BnD" },
  body: f(multipartBody("BnD", validParts(path)).body),
  expect,
}));

// ---------------------------------------------------------------------------
// Image bytes of every format: pristine (200), cut short, flipped, spliced,
// declaring sizes they do not have (over the limits: 413, from the header).

/**
 * Write w x h into every size field of the image's header (as far as the
 * field holds it); returns the size now declared, or undefined where the
 * format has no header this knows.
 */
function setSize(b: Uint8Array, w: number, h: number): [number, number] | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const s = latin1(b.subarray(0, 12));
  const u16 = (x: number) => Math.min(x, 0xffff);
  if (s.startsWith("\x89PNG")) return (v.setUint32(16, w), v.setUint32(20, h), [w, h]);
  if (s.startsWith("GIF")) {
    return (v.setUint16(6, u16(w), true), v.setUint16(8, u16(h), true), [u16(w), u16(h)]);
  }
  if (s.startsWith("BM")) {
    if (v.getUint32(14, true) === 12) {
      return (v.setUint16(18, u16(w), true), v.setUint16(20, u16(h), true), [u16(w), u16(h)]);
    }
    return (v.setInt32(18, w, true), v.setInt32(22, h, true), [w, h]);
  }
  if (b[0] === 0xff && b[1] === 0xd8) { // every SOFn (not DHT C4, JPG C8, DAC CC); libjpeg's largest side is 65500
    const j16 = (x: number) => Math.min(x, 65500);
    let found = false;
    for (let i = 2; i + 9 < b.length;) {
      if (b[i] !== 0xff) break;
      const m = b[i + 1], len = v.getUint16(i + 2);
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        v.setUint16(i + 5, j16(h));
        v.setUint16(i + 7, j16(w));
        found = true;
      }
      if (m === 0xda) break;
      i += 2 + len;
    }
    return found ? [j16(w), j16(h)] : undefined;
  }
  if (s.startsWith("RIFF")) {
    const chunk = latin1(b.subarray(12, 16));
    // WebP's largest side is 16383 (libwebp refuses more as corrupt).
    if (chunk === "VP8X") { // canvas size - 1, 24 bits each
      const [x, y] = [Math.min(w, 16383), Math.min(h, 16383)];
      b.set([(x - 1) & 0xff, ((x - 1) >> 8) & 0xff, ((x - 1) >> 16) & 0xff], 24);
      b.set([(y - 1) & 0xff, ((y - 1) >> 8) & 0xff, ((y - 1) >> 16) & 0xff], 27);
      return [x, y];
    }
    if (chunk === "VP8 ") { // 14 bits each (and 2 bits of scale, left 0)
      const [x, y] = [Math.min(w, 16383), Math.min(h, 16383)];
      return (v.setUint16(26, x, true), v.setUint16(28, y, true), [x, y]);
    }
    if (chunk === "VP8L") { // 14 bits each of size - 1
      const [x, y] = [Math.min(w, 16383), Math.min(h, 16383)];
      const bits = ((x - 1) & 0x3fff) | (((y - 1) & 0x3fff) << 14) | (v.getUint32(21, true) & 0xf0000000);
      return (v.setUint32(21, bits >>> 0, true), [x, y]);
    }
    return undefined;
  }
  if (s.startsWith("II*\0") || s.startsWith("MM\0*")) { // ImageWidth (256) and ImageLength (257) in the first IFD
    const le = s[0] === "I", ifd = v.getUint32(4, le), n = v.getUint16(ifd, le);
    const out: [number, number] = [w, h];
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + 12 * i, tag = v.getUint16(e, le), type = v.getUint16(e + 2, le);
      if (tag !== 256 && tag !== 257) continue;
      const x = type === 3 ? u16(tag === 256 ? w : h) : tag === 256 ? w : h;
      out[tag - 256] = x;
      if (type === 3) v.setUint16(e + 8, x, le);
      else v.setUint32(e + 8, x, le);
    }
    return out;
  }
  if (latin1(b.subarray(4, 8)) === "ftyp") { // HEIF/AVIF: every ispe box
    const all = latin1(b);
    let found = false;
    for (let i = all.indexOf("ispe"); i >= 0; i = all.indexOf("ispe", i + 4)) {
      v.setUint32(i + 8, w);
      v.setUint32(i + 12, h);
      found = true;
    }
    return found ? [w, h] : undefined;
  }
  return undefined;
}

const LIMIT_SIDE = 16384, LIMIT_PIXELS = 50_000_000;
/** "robust/phone-4-4.heic" -> "phone", "webp-lossy" -> "webp". */
const short = (name: string) => name.replace(/^robust\//, "").split(/[-.]/)[0];
const fixture = fc.constantFrom(...FIXTURES);

/** Image bytes with their answer (undefined: only the invariants). */
const imageWithAnswer: fc.Arbitrary<{ bytes: Uint8Array; kind: string; expect?: Exact }> = fc.oneof(
  {
    weight: 3,
    arbitrary: fixture.map((f) => ({
      bytes: f.bytes,
      kind: `img.pristine-${f.name}`,
      expect: f.code ? err(f.code as Code) : OK,
    })),
  },
  fixture.chain((f) =>
    fc.nat({ max: f.bytes.length - 1 }).map((n) => ({
      bytes: f.bytes.slice(0, n),
      kind: n < 12 ? "img.cut-under-12" : `img.cut-${short(f.name)}`,
      expect: n < 12 ? err("unsupported_image_format") : undefined,
    }))
  ),
  fixture.chain((f) => mutate(f.bytes).map((bytes) => ({ bytes, kind: `img.mutated-${short(f.name)}` }))),
  // Declared sizes over the limits, read from the header before decoding: 413 for every format.
  fc.tuple(
    fixture.filter((f) => !f.code),
    fc.constantFrom<[number, number]>([16385, 10], [10, 16385], [65535, 65535], [10000, 10000], [
      16384,
      16384,
    ], [7072, 7072]),
  ).map(([f, [w, h]]) => {
    const bytes = f.bytes.slice();
    const size = setSize(bytes, w, h);
    const over = size && (size[0] > LIMIT_SIDE || size[1] > LIMIT_SIDE || size[0] * size[1] > LIMIT_PIXELS);
    return {
      bytes,
      kind: `img.size-over-limit-${short(f.name)}`,
      expect: over ? err("image_too_large") : undefined,
    };
  }),
  // 0 pixels declared (PNG, GIF, BMP headers): undecodable; other small lies: invariants only.
  fc.tuple(
    fixture.filter((f) => !f.code),
    fc.constantFrom<[number, number]>([0, 24], [24, 0], [0, 0], [1, 1], [3000, 2], [24, 25]),
  )
    .map(([f, [w, h]]) => {
      const bytes = f.bytes.slice();
      const size = setSize(bytes, w, h);
      const header = /^(\x89PNG|GIF|BM)/.test(latin1(bytes.subarray(0, 4)));
      return {
        bytes,
        kind: `img.size-lie-${short(f.name)}`,
        expect: size && header && (w === 0 || h === 0) ? err("undecodable_image") : undefined,
      };
    }),
  // Bit depths and colour types that lie (PNG IHDR, BMP bpp, JPEG precision, TIFF BitsPerSample).
  fc.tuple(
    fixture.filter((f) => !f.code),
    fc.nat(),
    fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 9, 12, 15, 16, 24, 31, 32, 33, 64, 255),
  )
    .map(([f, at, depth]) => {
      const b = f.bytes.slice(), v = new DataView(b.buffer);
      const s = latin1(b.subarray(0, 4));
      if (s.startsWith("\x89PNG")) b[24 + (at % 2)] = depth; // bit depth or colour type
      else if (s.startsWith("BM")) v.setUint16(28, depth, true);
      else if (b[0] === 0xff) {
        const i = latin1(b).search(/\xff[\xc0-\xc2]/);
        if (i > 0) b[i + 4] = depth;
      } else b[Math.min(b.length - 1, 12 + (at % Math.max(1, b.length - 12)))] = depth;
      return { bytes: b, kind: `img.depth-lie-${short(f.name)}` };
    }),
  // One format's magic on another's body; 12+ bytes that are no format (415).
  fc.tuple(fixture, fixture).map(([f, g]) => ({
    bytes: cat(f.bytes.subarray(0, 12), g.bytes.subarray(12)),
    kind: "img.spliced",
  })),
  fc.uint8Array({ minLength: 12, maxLength: 400 }).map((b) => {
    b[0] = 0;
    b[4] = 0;
    return { bytes: b, kind: "img.no-magic", expect: err("unsupported_image_format") };
  }),
  imageBytes.map((bytes) => ({ bytes, kind: "img.hostile" })),
);

const imageCase: fc.Arbitrary<Case> = fc.tuple(
  imageWithAnswer,
  fc.constantFrom("multipart", "multipart", "base64", "dataurl"),
  route,
  fc.nat(1),
).map(([img, how, path, slot]) => {
  let expect = img.expect;
  if (how === "multipart") {
    const fields = FIELDS[path];
    const parts = fields.map((f, i) => ({
      head: fileHead(f),
      data: i === slot % fields.length ? img.bytes : PNG,
    }));
    const { body, clean } = multipartBody("----fuzzXyZ0123456789", parts);
    return {
      kind: img.kind,
      path,
      headers: { "content-type": "multipart/form-data; boundary=----fuzzXyZ0123456789" },
      body,
      expect: clean ? expect : undefined,
    };
  }
  const s = img.bytes.toBase64();
  if (img.bytes.length === 0) expect = err("bad_base64");
  return jsonCase(
    img.kind,
    path,
    jsonBody(path, slot, JSON.stringify(how === "dataurl" ? `data:image/png;base64,${s}` : s)),
    expect,
  );
});

// ---------------------------------------------------------------------------
// Routes and methods.

const routeCase: fc.Arbitrary<Case> = fc.constantFrom<[string, string, Exact | undefined]>(
  ["POST", "/verify/", err("not_found")],
  ["POST", "/VERIFY", err("not_found")],
  ["POST", "/verify/x", err("not_found")],
  ["POST", "/embed/", err("not_found")],
  ["POST", "//verify", err("not_found")],
  ["POST", "/nope", err("not_found")],
  ["GET", "/verify", err("not_found")],
  ["PUT", "/embed", err("not_found")],
  ["DELETE", "/verify", err("not_found")],
  ["POST", "/verify?a=1&b=2", OK],
  ["POST", "/embed?x", OK],
  ["POST", "/%76erify", undefined],
  ["OPTIONS", "/verify", undefined],
).map(([method, path, expect]) => {
  const base = path.startsWith("/embed") ? "/embed" : "/verify";
  const hasBody = method !== "GET";
  return {
    kind: `route.${method}`,
    method,
    path,
    headers: hasBody ? JSON_TYPE : {},
    body: hasBody ? jsonBody(base as Route, 0, VALID_B64) : "",
    expect,
  };
});

// ---------------------------------------------------------------------------
// HTTP framing on a raw socket: chunk sizes, Content-Length, Transfer-Encoding.

/** A chunked body: `sizes` writes each chunk's size line. */
function chunked(body: Uint8Array, cuts: number[], sizeLine: (n: number, i: number) => string, trailer = "") {
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const chunks: (Uint8Array | string)[] = [];
  let prev = 0;
  for (const [i, p] of [...points, body.length].entries()) {
    if (p === prev) continue;
    chunks.push(`${sizeLine(p - prev, i)}\r\n`, body.subarray(prev, p), "\r\n");
    prev = p;
  }
  chunks.push(`0\r\n${trailer}\r\n`);
  return cat(...chunks);
}
const head = (path: string, lines: string[]) =>
  `POST ${path} HTTP/1.1\r\nhost: fuzz\r\ncontent-type: application/json\r\n${
    lines.map((l) => `${l}\r\n`).join("")
  }\r\n`;

/** Bad chunk size lines: letters, signs, overflow, spaces, non-ASCII digits. */
const BAD_SIZES = [
  "zz",
  "-1",
  "0x10",
  " {n}",
  "+{n}",
  "",
  "1 0",
  "ffffffffffffffffff",
  "FFFFFFFFFFFFFFFF",
  "8000000000000000",
  "\u0661\u0660",
  '{n};a="b',
  "{n}\n",
];

/** Raw cases whose framing promises bytes that never come. */
const INCOMPLETE = /^(chunk-size-larger|chunk-no-last|chunk-huge|chunk-size-bad|cl-larger|cl-and-te|te-)/;

interface RawContext {
  path: Route;
  body: Uint8Array;
  cuts: number[];
  pick: number;
  bad: string;
}
const hex = (n: number) => n.toString(16);
const TE = "transfer-encoding: chunked";
const cl = (x: RawContext, extra = 0) => `content-length: ${x.body.length + extra}`;

/** Raw requests: [kind, oracle, build]. Only the one drawn is built. */
const RAW: [string, Expect, (x: RawContext) => Uint8Array | string][] = [
  // Well-formed: chunk sizes in either case, zero-padded, with extensions and trailers; HTTP/1.0; Expect: 100-continue.
  ["chunked-ok", OK, (x) => cat(head(x.path, [TE]), chunked(x.body, x.cuts, hex))],
  [
    "chunked-ok-upper",
    OK,
    (x) => cat(head(x.path, [TE]), chunked(x.body, x.cuts, (n) => hex(n).toUpperCase())),
  ],
  ["chunked-ok-zeros", OK, (x) => cat(head(x.path, [TE]), chunked(x.body, x.cuts, (n) => `000${hex(n)}`))],
  [
    "chunked-ok-ext",
    OK,
    (x) => cat(head(x.path, [TE]), chunked(x.body, x.cuts, (n) => `${hex(n)};name=value;x`)),
  ],
  [
    "chunked-ok-trailer",
    OK,
    (x) => cat(head(x.path, [TE]), chunked(x.body, x.cuts, hex, "x-trailer: 1\r\n")),
  ],
  ["http10", OK, (x) => cat(head(x.path, [cl(x)]).replace("HTTP/1.1", "HTTP/1.0"), x.body)],
  ["expect-100", OK, (x) => cat(head(x.path, [cl(x), "expect: 100-continue"]), x.body)],
  // A bad size line in one chunk.
  ...Array.from({ length: 4 }, (): [string, Expect, (x: RawContext) => Uint8Array] => [
    "chunk-size-bad",
    "framing",
    (x) => {
      const cuts = x.cuts.length ? x.cuts : [7];
      const line = (
        n: number,
        i: number,
      ) => (i === x.pick % (cuts.length + 1) ? x.bad.replace("{n}", hex(n)) : hex(n));
      return cat(head(x.path, [TE]), chunked(x.body, cuts, line));
    },
  ]),
  // Sizes that do not match the data: larger (then the stream ends), smaller, no CRLF after the data, no last chunk.
  [
    "chunk-size-larger",
    "framing",
    (x) => cat(head(x.path, [TE]), `${hex(x.body.length + 100)}\r\n`, x.body, "\r\n0\r\n\r\n"),
  ],
  [
    "chunk-size-smaller",
    "framing",
    (x) => cat(head(x.path, [TE]), `${hex(x.body.length - 5)}\r\n`, x.body, "\r\n0\r\n\r\n"),
  ],
  [
    "chunk-no-crlf",
    "framing",
    (x) => cat(head(x.path, [TE]), `${hex(x.body.length)}\r\n`, x.body, "0\r\n\r\n"),
  ],
  ["chunk-no-last", "framing", (x) => cat(head(x.path, [TE]), `${hex(x.body.length)}\r\n`, x.body, "\r\n")],
  ["chunk-huge", "framing", (x) => cat(head(x.path, [TE]), "7fffffffffffffff\r\n", x.body)],
  // Content-Length lies and conflicts; Transfer-Encoding codings the server does not have.
  ...([
    ["cl-larger", (x) => [cl(x, 1000)]],
    ["cl-abc", () => ["content-length: abc"]],
    ["cl-negative", () => ["content-length: -1"]],
    ["cl-plus", (x) => [`content-length: +${x.body.length}`]],
    ["cl-list", (x) => [`content-length: ${x.body.length}, ${x.body.length}`]],
    ["cl-two", (x) => [cl(x), cl(x, 1)]],
    ["cl-huge", () => ["content-length: 99999999999999999999999"]],
    ["cl-and-te", (x) => [cl(x, 50), TE]],
    ["te-gzip", () => ["transfer-encoding: gzip"]],
    ["te-gzip-chunked", () => ["transfer-encoding: gzip, chunked"]],
    ["te-chunked-gzip", () => ["transfer-encoding: chunked, gzip"]],
    ["te-identity", () => ["transfer-encoding: identity"]],
    ["te-Chunked", () => ["transfer-encoding: Chunked"]],
  ] as [string, (x: RawContext) => string[]][]).map((
    [kind, lines],
  ): [string, Expect, (x: RawContext) => Uint8Array] => [
    kind,
    "framing",
    (x) => {
      const ls = lines(x);
      const isChunked = ls.some((l) => /^transfer-encoding:.*chunked$/i.test(l));
      return cat(head(x.path, ls), isChunked ? chunked(x.body, x.cuts, hex) : x.body);
    },
  ]),
  // Header syntax: obs-text, no colon, a folded line, a space before the colon, huge or many headers, NUL; request lines.
  ["header-obs-text", "framing", (x) =>
    cat(
      `POST ${x.path} HTTP/1.1\r\nhost: fuzz\r\ncontent-type: application/json`,
      Uint8Array.of(0xff, 0xfe),
      `\r\n${cl(x)}\r\n\r\n`,
      x.body,
    )],
  ["header-no-colon", "framing", (x) => cat(head(x.path, [cl(x), "no colon here"]), x.body)],
  ["header-folded", "framing", (x) => cat(head(x.path, [cl(x), "x-a: 1", " folded"]), x.body)],
  ["header-space-colon", "framing", (x) => cat(head(x.path, [`content-length : ${x.body.length}`]), x.body)],
  ["header-huge", "framing", (x) => cat(head(x.path, [cl(x), `x-big: ${"h".repeat(200_000)}`]), x.body)],
  [
    "header-many",
    "framing",
    (x) => cat(head(x.path, [cl(x), ...Array.from({ length: 300 }, (_, i) => `x-h${i}: ${i}`)]), x.body),
  ],
  ["header-nul", "framing", (x) => cat(head(x.path, [cl(x), "x-a: a\u0000b"]), x.body)],
  [
    "request-line-garbage",
    "framing",
    (x) => cat(`POST  ${x.path}  HTTP/1.1\r\nhost: fuzz\r\n${cl(x)}\r\n\r\n`, x.body),
  ],
  [
    "request-line-lf",
    "framing",
    (x) => cat(`POST ${x.path} HTTP/1.1\nhost: fuzz\ncontent-type: application/json\n${cl(x)}\n\n`, x.body),
  ],
];

const rawCase: fc.Arbitrary<Case> = fc.tuple(
  route,
  fc.array(fc.nat(), { maxLength: 4 }),
  fc.nat(),
  fc.constantFrom(...RAW),
  fc.constantFrom(...BAD_SIZES),
).map(([path, cuts, pick, [kind, expect, build], bad]): Case => {
  const bytes = build({ path, body: enc.encode(jsonBody(path, 0, VALID_B64)), cuts, pick, bad });
  return {
    kind: `raw.${kind}`,
    path,
    headers: {},
    body: "",
    raw: typeof bytes === "string" ? enc.encode(bytes) : bytes,
    // Framing that promises more than it sends: the end of the stream is where it stops.
    ...(INCOMPLETE.test(kind) ? { halfClose: true } : {}),
    expect,
  };
});

// ---------------------------------------------------------------------------

/** Families and their weights in the campaign's mix. */
export const FAMILIES = (limit: number) => ({
  b64: { weight: 5, arbitrary: b64Case },
  dataurl: { weight: 4, arbitrary: fc.oneof({ weight: 4, arbitrary: dataUrlCase }, dataUrlOddCase) },
  json: {
    weight: 5,
    arbitrary: fc.oneof(jsonDepthCase, jsonNumberCase, jsonPixelsCase, jsonUnicodeCase, {
      weight: 2,
      arbitrary: jsonKeysCase,
    }),
  },
  ctype: { weight: 2, arbitrary: contentTypeCase },
  mp: { weight: 5, arbitrary: fc.oneof({ weight: 4, arbitrary: mpPartsCase }, mpFramingCase) },
  img: { weight: 6, arbitrary: imageCase },
  route: { weight: 1, arbitrary: routeCase },
  raw: { weight: 1, arbitrary: rawCase },
  legacy: {
    weight: 2,
    arbitrary: hostileCase(limit).map((c) => ({
      ...c,
      kind: `legacy.${c.kind}`,
    })),
  },
});

/** The campaign's cases: every family above in proportion. */
export function campaignCase(limit: number): fc.Arbitrary<Case> {
  return fc.oneof(...Object.values(FAMILIES(limit)));
}

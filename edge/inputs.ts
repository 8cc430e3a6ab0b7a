// Request bodies -> MNIST-like inputs. Accepts multipart/form-data files (as
// `curl -F a=@x.png` sends them) and JSON with base64 / data: URLs / arrays of
// SIDE x SIDE pixels. Every mistake is a ClientError with a stable code.
import { ClientError } from "../shared/errors.ts";
import { decodeImage } from "../shared/decode.ts";
import { sniffFormat } from "../shared/format.ts";
import type { ImageLimits } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";
import { boundaryOf, parseMultipart } from "./multipart.ts";
import { type BodyOptions, readBody } from "./body.ts";

export interface Parsed {
  images: Float32Array[];
  /** Each image's format as sniffed from its bytes, or "array" for pixel arrays. */
  formats: string[];
  threshold?: number;
  decodeMs: number;
}

type Raw = Uint8Array | number[];

/** `data:` URL: media type, its parameters, then ",". */
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;

/**
 * An image sent as a JSON string: base64 (standard or URL-safe alphabet,
 * padded or not, ASCII whitespace ignored) or a data: URL of an image type
 * in base64. The one decoder is the engine's `Uint8Array.fromBase64`; any
 * string it refuses is 400 bad_base64 (docs/inputs.md has the table).
 */
function fromBase64(s: string, field: string): Uint8Array {
  const m = DATA_URL.exec(s);
  // The type only has to say "image": the bytes themselves tell the format.
  if (m && !/^image\/[a-z0-9.+-]+$/i.test(m[1].trim())) {
    throw new ClientError(
      "unsupported_image_format",
      `Field "${field}": data URL type "${m[1]}" is not an image type`,
    );
  }
  if (m && !/;base64$/i.test(m[2])) {
    throw new ClientError("bad_base64", `Field "${field}": data URL is not base64-encoded`);
  }
  const body = m ? s.slice(m[0].length) : s;
  // Either alphabet, not both: "-" or "_" make it base64url.
  const alphabet = /[-_]/.test(body) ? "base64url" : "base64";
  let bytes: Uint8Array | undefined;
  try {
    bytes = Uint8Array.fromBase64(body, { alphabet });
  } catch {
    // SyntaxError: a character outside the alphabet, or padding where it cannot be
  }
  if (!bytes?.length) throw new ClientError("bad_base64", `Field "${field}": not valid base64`);
  return bytes;
}

function pixels(v: unknown[], field: string, side: number): Float32Array {
  if (v.length !== side * side) {
    throw new ClientError(
      "bad_pixels",
      `Field "${field}": ${v.length} pixels, expected ${side * side} (${side}x${side})`,
    );
  }
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x) || x < 0 || x > 255) {
      throw new ClientError(
        "bad_pixels",
        `Field "${field}": pixel ${i} is ${JSON.stringify(x)}, expected a number 0..255`,
      );
    }
    out[i] = x / 255;
  }
  return out;
}

async function toInput(raw: Raw, field: string, side: number, limits: ImageLimits) {
  if (Array.isArray(raw)) {
    return toMnist({ width: side, height: side, data: pixels(raw, field, side) }, field);
  }
  return toMnist(await decodeImage(raw, field, limits), field);
}

function parseThreshold(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const t = typeof v === "string" ? Number(v) : v;
  if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 1) {
    throw new ClientError("bad_threshold", `Field "threshold": ${JSON.stringify(v)} is not a number in 0..1`);
  }
  return t;
}

async function fromMultipart(req: Request, type: string, fields: string[], read: BodyOptions) {
  const parts = parseMultipart(await readBody(req, read), boundaryOf(type));
  const raws: Raw[] = [];
  for (const f of fields) {
    const all = parts.get(f) ?? [];
    if (all.length === 0) throw new ClientError("missing_field", `Missing file field "${f}"`);
    if (all.length > 1) throw new ClientError("bad_request", `Field "${f}" was sent ${all.length} times`);
    if (all[0].filename === undefined) {
      throw new ClientError("bad_request", `Field "${f}" must be a file (curl -F ${f}=@image.png), not text`);
    }
    raws.push(all[0].data);
  }
  const t = parts.get("threshold") ?? [];
  if (t.length > 1) throw new ClientError("bad_request", `Field "threshold" was sent ${t.length} times`);
  return { raws, threshold: parseThreshold(t[0] && new TextDecoder().decode(t[0].data)) };
}

async function fromJson(req: Request, fields: string[], read: BodyOptions) {
  const bytes = await readBody(req, read);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ClientError("bad_request", "Malformed JSON body");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ClientError(
      "bad_request",
      `JSON body must be an object with fields ${fields.map((f) => `"${f}"`).join(", ")}`,
    );
  }
  const o = body as Record<string, unknown>;
  const raws = fields.map((f): Raw => {
    const v = Object.hasOwn(o, f) ? o[f] : undefined;
    if (v === undefined || v === null) throw new ClientError("missing_field", `Missing field "${f}"`);
    if (typeof v === "string") return fromBase64(v, f);
    if (Array.isArray(v)) return v;
    throw new ClientError(
      "bad_request",
      `Field "${f}" must be a base64 string, a data: URL or an array of pixels`,
    );
  });
  return { raws, threshold: parseThreshold(Object.hasOwn(o, "threshold") ? o.threshold : undefined) };
}

/** Read `fields` (image inputs) and an optional threshold from a request. */
export async function readInputs(
  req: Request,
  fields: string[],
  side: number,
  limits: ImageLimits,
  body: BodyOptions,
): Promise<Parsed> {
  const header = req.headers.get("content-type") ?? "";
  const type = header.split(";")[0].trim().toLowerCase();
  let got: { raws: Raw[]; threshold?: number };
  if (type === "multipart/form-data") got = await fromMultipart(req, header, fields, body);
  else if (type === "application/json") got = await fromJson(req, fields, body);
  else {
    throw new ClientError(
      "unsupported_media_type",
      `Content-Type "${type || "(none)"}" is not supported: send multipart/form-data or application/json`,
    );
  }
  const t0 = performance.now();
  const images = await Promise.all(got.raws.map((r, i) => toInput(r, fields[i], side, limits)));
  const formats = got.raws.map((r) => (Array.isArray(r) ? "array" : sniffFormat(r) ?? "unknown"));
  return { images, formats, threshold: got.threshold, decodeMs: performance.now() - t0 };
}

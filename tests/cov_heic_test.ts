// HEIC edge cases on tests/images/seven.heic edited in memory (its ISO BMFF
// boxes rewritten): rotation (irot), a second top-level image ahead of the
// primary one, corrupt HEVC data, a primary item that is missing or a
// thumbnail, and the size limit
// on the decoder's worker. Each answer is checked against the unedited file.
import { decodeHeicLuma } from "../shared/heic.ts";
import { stopHeicDecoder } from "../shared/heic_thread.ts";
import { decodeImage } from "../shared/decode.ts";
import { orient } from "../shared/orient.ts";
import { ClientError } from "../shared/errors.ts";
import { assert, assertEquals, assertRejects, clientError } from "./assert.ts";

const SEVEN_HEIC = Deno.readFileSync(new URL("./images/seven.heic", import.meta.url));

/** An ISO BMFF box: `head` is its payload before any child boxes (all of it for a leaf). */
interface Box {
  type: string;
  head: Uint8Array;
  kids?: Box[];
}
/** Container boxes, and the bytes of their own before the children (meta, iinf: full box header; iinf: u16 count). */
const CONTAINERS: Record<string, number> = { meta: 4, iprp: 0, ipco: 0, iinf: 6 };
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function parse(b: Uint8Array, from = 0, to = b.length): Box[] {
  const out: Box[] = [];
  for (let at = from; at < to;) {
    const size = view(b).getUint32(at), type = String.fromCharCode(...b.subarray(at + 4, at + 8));
    const own = CONTAINERS[type];
    out.push(
      own === undefined
        ? { type, head: b.slice(at + 8, at + size) }
        : { type, head: b.slice(at + 8, at + 8 + own), kids: parse(b, at + 8 + own, at + size) },
    );
    at += size;
  }
  return out;
}

function write(boxes: Box[]): Uint8Array {
  const parts = boxes.map((x) => {
    const kids = x.kids ? write(x.kids) : new Uint8Array(0);
    const out = new Uint8Array(8 + x.head.length + kids.length);
    view(out).setUint32(0, out.length);
    out.set(new TextEncoder().encode(x.type), 4);
    out.set(x.head, 8);
    out.set(kids, 8 + x.head.length);
    return out;
  });
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

const find = (boxes: Box[], path: string): Box =>
  path.split("/").reduce<Box | undefined>(
    (b, t) => (b ? b.kids! : boxes).find((x) => x.type === t),
    undefined,
  )!;

/**
 * seven.heic with its boxes edited, and iloc's base offsets moved by as much
 * as mdat moved. This fixture's iloc: version 0, 4-byte offsets and lengths,
 * 4-byte base offset, one extent per item (18 bytes an item).
 */
function edited(edit: (boxes: Box[]) => void): Uint8Array {
  const boxes = parse(SEVEN_HEIC);
  assertEquals(Array.from(find(boxes, "meta/iloc").head.subarray(0, 6)), [0, 0, 0, 0, 0x44, 0x40]);
  edit(boxes);
  const delta = write(boxes).length - SEVEN_HEIC.length, iloc = find(boxes, "meta/iloc").head;
  for (let i = 0, n = view(iloc).getUint16(6); i < n; i++) {
    const at = 8 + 18 * i + 4;
    view(iloc).setUint32(at, view(iloc).getUint32(at) + delta);
  }
  return write(boxes);
}

/** The image rotated by `angle` x 90 degrees anticlockwise: an essential irot property on item 1. */
const withIrot = (angle: number) =>
  edited((boxes) => {
    find(boxes, "meta/iprp/ipco").kids!.push({ type: "irot", head: Uint8Array.of(angle) });
    const ipma = find(boxes, "meta/iprp/ipma"), h = ipma.head; // one entry: item 1 and its 3 properties
    ipma.head = Uint8Array.of(...h.subarray(0, 10), h[10] + 1, ...h.subarray(11), 0x80 | 4);
  });

/**
 * A second image, item 2, with the same coded data and properties, made
 * primary (pitm): a top-level image after item 1, or with `thumbnail` a
 * thumbnail of item 1 (iref thmb), which is not a top-level image at all.
 */
const twoImages = ({ thumbnail = false } = {}) =>
  edited((boxes) => {
    const iinf = find(boxes, "meta/iinf"), infe = { type: "infe", head: iinf.kids![0].head.slice() };
    view(infe.head).setUint16(4, 2);
    iinf.kids!.push(infe);
    view(iinf.head).setUint16(4, 2);
    const iloc = find(boxes, "meta/iloc"), item = iloc.head.slice(8, 26);
    view(item).setUint16(0, 2);
    iloc.head = Uint8Array.of(...iloc.head, ...item);
    view(iloc.head).setUint16(6, 2);
    const ipma = find(boxes, "meta/iprp/ipma"), entry = ipma.head.slice(8);
    view(entry).setUint16(0, 2);
    ipma.head = Uint8Array.of(...ipma.head, ...entry);
    view(ipma.head).setUint32(4, 2);
    view(find(boxes, "meta/pitm").head).setUint16(4, 2);
    // iref (full box), one reference: 14 bytes, "thmb", from item 2, 1 reference, to item 1.
    const thmb = [0, 0, 0, 14, ...new TextEncoder().encode("thmb"), 0, 2, 0, 1, 0, 1];
    if (thumbnail) find(boxes, "meta").kids!.push({ type: "iref", head: Uint8Array.of(0, 0, 0, 0, ...thmb) });
  });

const upright = await decodeHeicLuma(SEVEN_HEIC, () => {});

Deno.test("the box editor writes seven.heic back byte for byte", () => {
  assertEquals(write(parse(SEVEN_HEIC)), SEVEN_HEIC);
  assertEquals([upright.width, upright.height, upright.channels], [160, 120, 1]);
});

Deno.test("decodeHeicLuma() applies irot: each quarter turn is the EXIF orientation a viewer applies", async () => {
  // irot turns anticlockwise: 1 -> EXIF 8, 2 -> 3, 3 -> 6 (shared/orient.ts).
  for (const [angle, exif] of [[0, 1], [1, 8], [2, 3], [3, 6]]) {
    const sizes: number[][] = [];
    const got = await decodeHeicLuma(withIrot(angle), (w, h) => sizes.push([w, h]));
    const want = orient(upright, exif);
    assertEquals([got.width, got.height], [want.width, want.height], `irot ${angle}`);
    assertEquals(sizes, [[want.width, want.height]], `irot ${angle}: the size checked is the shown one`);
    assert(
      got.data.every((v, i) => v === want.data[i]),
      `irot ${angle}: pixels differ from orient(.., ${exif})`,
    );
  }
});

Deno.test("decodeImage() shows a HEIC with irot upright: 120x160 from a 160x120 coded image", async () => {
  const g = await decodeImage(withIrot(1), "turned");
  assertEquals([g.width, g.height], [120, 160]);
  // The stored top-right corner is now the top-left one: paper either way, the digit's ink moved.
  const plain = await decodeImage(SEVEN_HEIC, "plain");
  const at = (img: typeof g, x: number, y: number) => img.data[y * img.width + x];
  let diff = 0;
  for (let y = 0; y < 160; y++) {
    for (let x = 0; x < 120; x++) diff += Math.abs(at(g, x, y) - at(plain, 159 - y, x));
  }
  assert(diff / (120 * 160) < 0.01, `not the coded image turned 90 degrees anticlockwise: ${diff / 19200}`);
});

Deno.test("decodeHeicLuma() decodes the primary image when a non-primary top-level image comes first", async () => {
  const got = await decodeHeicLuma(twoImages(), () => {});
  assertEquals([got.width, got.height], [160, 120]);
  assertEquals(got.data, upright.data);
});

Deno.test("HEIC that libheif cannot read or decode, or without a primary image: Error from decodeHeicLuma, undecodable_image from decodeImage", async () => {
  // Every byte of the coded data flipped: the boxes are fine, HEVC decoding fails.
  const corrupt = SEVEN_HEIC.slice();
  const mdat = SEVEN_HEIC.length - find(parse(SEVEN_HEIC), "mdat").head.length;
  for (let i = mdat; i < corrupt.length; i++) corrupt[i] ^= 0x5a;
  await assertRejects(
    decodeHeicLuma(corrupt, () => {}),
    (e: Error) => !(e instanceof ClientError) && /Decoder plugin generated an error/.test(e.message),
  );
  await assertRejects(
    decodeImage(corrupt, "flipped"),
    clientError("undecodable_image", /"flipped"/),
  );
  // The primary item is a thumbnail: libheif reads the file, but no top-level image is the primary one.
  const thumb = twoImages({ thumbnail: true });
  await assertRejects(decodeHeicLuma(thumb, () => {}), /HEIF file has no primary image/);
  await assertRejects(
    decodeImage(thumb, "thumb"),
    clientError("undecodable_image", /no primary image/),
  );
  // The primary item (pitm) names item 7, which does not exist: libheif refuses the file as it reads it.
  const noPrimary = edited((boxes) => view(find(boxes, "meta/pitm").head).setUint16(4, 7));
  await assertRejects(decodeHeicLuma(noPrimary, () => {}), /not a readable HEIF file/);
  await assertRejects(
    decodeImage(noPrimary, "pitm"),
    clientError("undecodable_image", /not a readable HEIF/),
  );
});

Deno.test("decodeImage() refuses a HEIC over the limits on the decoder's worker (image_too_large), then decodes again, also once the worker is stopped", async () => {
  await assertRejects(
    decodeImage(SEVEN_HEIC, "big", { maxSide: 100, maxPixels: 1e6 }),
    clientError("image_too_large", /"big": 160x120/),
  );
  const g = await decodeImage(SEVEN_HEIC, "again");
  assertEquals([g.width, g.height], [160, 120]);
  // Stopped (as a script that is done stops it), the decoder starts again on the next HEIC.
  stopHeicDecoder();
  const h = await decodeImage(SEVEN_HEIC, "restarted");
  assertEquals(h.data, g.data);
  stopHeicDecoder();
});

/**
 * decodeHeicOffThread() twice, in a child process where the decoder's worker
 * cannot start: `how` "no-read" (its module unreadable: the worker fails
 * after it is made) or "no-worker" (no Worker global: the constructor
 * throws). Both answers come back decoded inline. Returns the child's output.
 */
async function offThreadWithoutWorker(how: "no-read" | "no-worker"): Promise<number[][]> {
  const root = new URL("../", import.meta.url);
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(
      script,
      [
        `import { decodeHeicOffThread } from "${new URL("shared/heic_thread.ts", root).href}";`,
        how === "no-worker" ? `Reflect.deleteProperty(globalThis, "Worker");` : "",
        `const bytes = Deno.readFileSync(${
          JSON.stringify(new URL("tests/images/seven.heic", root).pathname)
        });`,
        `const out = [];`,
        `for (const name of ["first", "second"]) {`,
        `  const r = await decodeHeicOffThread(bytes, name, { maxSide: 16384, maxPixels: 50e6 });`,
        `  out.push([r.width, r.height, r.data.reduce((s, v) => s + v, 0)]);`,
        `}`,
        `console.log(JSON.stringify(out));`,
      ].join("\n"),
    );
    const readable = [new URL("node_modules", root).pathname, new URL("tests/images", root).pathname, dir];
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${new URL("deno.json", root).pathname}`,
        `--allow-read=${readable.join(",")}`,
        script,
      ],
      stdout: "piped",
      stderr: "null", // "no-read": Deno reports the worker's failed start on stderr
    }).output();
    assertEquals(out.code, 0, `child (${how}) exited ${out.code}`);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("with no worker (its module unreadable, or no Worker at all) HEICs decode inline, the same", async () => {
  const want = [160, 120, upright.data.reduce((s, v) => s + v, 0)];
  for (const how of ["no-read", "no-worker"] as const) {
    assertEquals(await offThreadWithoutWorker(how), [want, want], how);
  }
});

// parseMultipart(): what curl and browsers send, byte for byte as the
// platform's own FormData encodes it, and every way a body can be malformed.
import { boundaryOf, parseMultipart } from "../edge/multipart.ts";
import { ClientError } from "../shared/errors.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

/** A FormData as the platform encodes it: body bytes and Content-Type. */
async function encode(form: FormData) {
  const r = new Request("http://x/", { method: "POST", body: form });
  return { type: r.headers.get("content-type")!, body: new Uint8Array(await r.arrayBuffer()) };
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const raw = (s: string) => new TextEncoder().encode(s.replaceAll("\n", "\r\n"));
const badRequest = (f: () => unknown, why: RegExp) =>
  assertThrows(f, (e: Error) => e instanceof ClientError && e.code === "bad_request" && why.test(e.message));

Deno.test("parseMultipart() returns files and text fields as FormData encodes them, in place", async () => {
  // Bytes that look like line breaks and dashes must not end a part early.
  const a = Uint8Array.from({ length: 70_000 }, (_, i) => [13, 10, 45, 45, (i * 31) & 255][i % 5]);
  const form = new FormData();
  form.append("a", new Blob([a]), "photo one.jpg");
  form.append("b", new Blob([]), "empty.png");
  form.append("threshold", "0.25");
  form.append("name", 'Zoë "quoted"');
  const { type, body } = await encode(form);
  const parts = parseMultipart(body, boundaryOf(type));
  assertEquals([...parts.keys()], ["a", "b", "threshold", "name"]);
  assertEquals(parts.get("a")![0].filename, "photo one.jpg");
  assertEquals(parts.get("a")![0].data, a);
  assert(parts.get("a")![0].data.buffer === body.buffer, "a part is a view into the body");
  assertEquals([parts.get("b")![0].filename, parts.get("b")![0].data.length], ["empty.png", 0]);
  assertEquals([parts.get("threshold")![0].filename, text(parts.get("threshold")![0].data)], [
    undefined,
    "0.25",
  ]);
  assertEquals(text(parts.get("name")![0].data), 'Zoë "quoted"');
});

Deno.test("parseMultipart() reads a preamble, quoted boundaries, repeated fields and filename*", () => {
  const body = raw(
    "ignored preamble\n--x y\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''%C3%A9.png\n" +
      "Content-Type: image/png\n\nAB\n--x y\ncontent-disposition: FORM-DATA; name=a; filename=b.png\n\nCD\n--x y--\n",
  );
  const b = boundaryOf('multipart/form-data; boundary="x y"');
  assertEquals(b, "x y");
  const a = parseMultipart(body, b).get("a")!;
  assertEquals(a.map((p) => [p.filename, text(p.data)]), [["", "AB"], ["b.png", "CD"]]);
});

Deno.test("parseMultipart() refuses malformed bodies with bad_request", () => {
  const ok = '--b\nContent-Disposition: form-data; name="a"\n\nx\n--b--\n';
  assertEquals(text(parseMultipart(raw(ok), "b").get("a")![0].data), "x");
  badRequest(() => boundaryOf("multipart/form-data"), /no boundary/);
  badRequest(() => parseMultipart(raw("no boundary here"), "b"), /no opening boundary/);
  badRequest(() => parseMultipart(raw(ok.replace("--b--\n", "")), "b"), /before its closing boundary/);
  badRequest(
    () => parseMultipart(raw('--b\nContent-Disposition: form-data; name="a"\nx'), "b"),
    /headers do not end/,
  );
  badRequest(
    () => parseMultipart(raw(ok.replace("form-data; ", "attachment; ")), "b"),
    /no Content-Disposition/,
  );
  badRequest(
    () => parseMultipart(raw(ok.replace('name="a"', 'filename="a"')), "b"),
    /no Content-Disposition/,
  );
  badRequest(() => parseMultipart(raw(ok.replace("--b\nC", "--bXC")), "b"), /not followed by a line break/);
  badRequest(
    () => parseMultipart(raw(`--b\nX: ${"y".repeat(20_000)}\n\nx\n--b--`), "b"),
    /headers do not end/,
  );
  const many = Array.from(
    { length: 40 },
    (_, i) => `--b\nContent-Disposition: form-data; name="f${i}"\n\nx\n`,
  ).join("");
  badRequest(() => parseMultipart(raw(`${many}--b--`), "b"), /more than 32 parts/);
});

Deno.test("parseMultipart() skips transport padding (spaces, tabs) after a boundary", () => {
  const body = raw(
    '--b \t \nContent-Disposition: form-data; name="a"\n\nx\n--b\t\nContent-Disposition: form-data; name="c"\n\ny\n--b--',
  );
  const parts = parseMultipart(body, "b");
  assertEquals([...parts].map(([k, [p]]) => [k, text(p.data)]), [["a", "x"], ["c", "y"]]);
});

Deno.test("parseMultipart() reads parameters whole: `name=` or `;` inside a quoted value belong to it", () => {
  const enc = new TextEncoder();
  const body = (disposition: string) =>
    enc.encode(`--B\r\nContent-Disposition: ${disposition}\r\n\r\nxx\r\n--B--\r\n`);
  const fields = (d: string) => [...parseMultipart(body(d), "B")].map(([k, v]) => [k, v[0].filename]);
  assertEquals(fields('form-data; filename="x name=b"; name="a"'), [["a", "x name=b"]]);
  assertEquals(fields('form-data; name="a"; filename="a;b.png"'), [["a", "a;b.png"]]);
  assertEquals(fields('form-data; NAME="a\\"q"; filename=f.png'), [['a"q', "f.png"]]);
});

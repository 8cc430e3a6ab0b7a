// JSON image strings, row by row as docs/inputs.md's table gives them: each
// form of base64 and data: URL, sent to POST /verify (and the bare refusals to
// /embed too), answers with the table's status and code; and the table in
// the docs is exactly these rows.
import { createApp } from "../edge/app.ts";
import { useBackend } from "../shared/backend.ts";
import { png, randomVerifier } from "./fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

await useBackend("wasm");
const app = createApp({ verifier: await randomVerifier() });
const seven = new Uint8Array(40 * 40).map((_, i) => (Math.abs((i % 40) - 20) < 3 || (i < 200) ? 0 : 255));
const b64 = png(40, 40, seven).toBase64();
const url = b64.replace(/\+/g, "-").replace(/\//g, "_");

/** [form as the docs name it, the string sent, the answer: "200" or "status code"]. */
const ROWS: [string, string, string][] = [
  ["standard base64, padded", b64, "200"],
  ["standard base64, padding left off", b64.replace(/=+$/, ""), "200"],
  [
    "standard base64 with spaces and line breaks (as `base64` wraps it)",
    b64.replace(/(.{76})/g, "$1\n "),
    "200",
  ],
  ["base64url (`-` and `_`), with or without padding", url.replace(/=+$/, ""), "200"],
  ["`data:image/png;base64,...`", `data:image/png;base64,${b64}`, "200"],
  [
    "`data:` URL with parameters, any case (`DATA:Image/PNG;name=a.png;BASE64,...`)",
    `DATA:Image/PNG;name=a.png;BASE64,${b64}`,
    "200",
  ],
  [
    "a data URL's type says nothing of the format: `data:image/jpeg;base64,<png>`",
    `data:image/jpeg;base64,${b64}`,
    "200",
  ],
  [
    "`data:` URL of another type (`data:text/plain;base64,...`)",
    `data:text/plain;base64,${b64}`,
    "415 unsupported_image_format",
  ],
  ["`data:` URL without a type (`data:;base64,...`)", `data:;base64,${b64}`, "415 unsupported_image_format"],
  ["`data:` URL not in base64 (`data:image/png,...`)", `data:image/png,${b64}`, "400 bad_base64"],
  ["valid base64 of bytes that are no image", "QUJDRA==", "415 unsupported_image_format"],
  ["both alphabets mixed (`+` and `-`)", `${b64.slice(0, 8)}-+${b64.slice(10)}`, "400 bad_base64"],
  ["padding that cannot end a group (`AB=`, `J=`, `==`)", "AB=", "400 bad_base64"],
  ["a character outside the alphabet (`QUJDé`)", "QUJD\u00e9", "400 bad_base64"],
  ["one character left over (`A`)", "A", "400 bad_base64"],
  ["padding in the middle (`QQ==QQ==`)", "QQ==QQ==", "400 bad_base64"],
  ["the empty string", "", "400 bad_base64"],
  [
    "a `data:` URL whose base64 is bad (`data:image/png;base64,J=`)",
    "data:image/png;base64,J=",
    "400 bad_base64",
  ],
];

const answer = async (path: string, body: unknown) => {
  const r = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  return r.status === 200 ? "200" : `${r.status} ${j.error.code}`;
};

for (const [form, value, expected] of ROWS) {
  Deno.test(`JSON image string, ${form}: ${expected}`, async () => {
    assertEquals(await answer("/verify", { a: value, b: b64 }), expected);
    assertEquals(await answer("/embed", { image: value }), expected);
  });
}

Deno.test("the refusals a user reported answer 400 bad_base64, never 500", async () => {
  assertEquals(await answer("/verify", { a: "AB=", b: "AB=" }), "400 bad_base64");
  assertEquals(await answer("/embed", { image: "J=" }), "400 bad_base64");
  assertEquals(await answer("/verify", { a: "data:image/png;base64,J=", b: "J=" }), "400 bad_base64");
  for (const s of ["J=", "A=", "AB=", "==", "A B=", "data:image/jpeg;base64,AB="]) {
    assertEquals(await answer("/verify", { a: s, b: b64 }), "400 bad_base64", s);
  }
});

Deno.test("docs/inputs.md's table of JSON image strings is these rows, with these answers", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/inputs.md", import.meta.url));
  const table = doc.slice(doc.search(/^\| JSON image string +\| answer/m));
  const rows = table.split("\n").slice(2).filter((l) => l.startsWith("|")).map((l) =>
    l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim())
  );
  assertEquals(
    rows.map(([form, answer]) => [form, answer]),
    ROWS.map(([form, , expected]) => [form, expected]),
  );
  assert(rows.length > 10);
});

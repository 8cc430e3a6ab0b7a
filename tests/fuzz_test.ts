// A CI-sized slice of the fuzz campaign, plus every input that ever failed.
import { check, fuzz, makeTarget } from "./fuzz.ts";
import { assert } from "./assert.ts";

const target = await makeTarget();

Deno.test("300 hostile requests: each a 200 or a 4xx with a known code, and the service keeps answering", async () => {
  const counts = await fuzz(target, 300, 20261129);
  assert(Object.keys(counts).length > 5, `too little variety: ${JSON.stringify(counts)}`);
});

Deno.test("the regression corpus (tests/fuzz/*.json: lying headers, bombs, failures) gets known 4xx codes", async () => {
  let n = 0;
  for await (const e of Deno.readDir(new URL("./fuzz/", import.meta.url))) {
    if (!e.name.endsWith(".json")) continue;
    const c = JSON.parse(await Deno.readTextFile(new URL(`./fuzz/${e.name}`, import.meta.url)));
    const body = c.base64 ? Uint8Array.fromBase64(c.base64) : c.body;
    const got = await check(target, { kind: c.kind, headers: c.headers, body });
    assert(/^4\d\d /.test(got), `${e.name}: ${got}`);
    n++;
  }
  assert(n >= 9, `corpus has ${n} files`);
});

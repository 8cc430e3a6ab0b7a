import { assert } from "./assert.ts";

Deno.test("10,000 mixed good/bad requests leave the live heap and the tensor count flat", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--v8-flags=--expose-gc",
      new URL("./heap_child.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { early, late, tensors } = JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
  );
  // 9,000 more requests: a leak of even 100 bytes each would add 0.9 MB.
  assert(late - early < 512 * 1024, `live heap grew ${((late - early) / 1024).toFixed(0)} KiB`);
  assert(tensors <= 20, `${tensors} live tensors`);
});

for (const kind of ["png", "jpeg"]) {
  Deno.test(`the largest accepted ${kind.toUpperCase()} decodes with peak RSS under 512 MiB (Deno Deploy's smallest)`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./bigimage_child.ts", import.meta.url).pathname, kind],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert(r.ink > 5, "the digit was lost");
    assert(r.peak < 512, `peak RSS ${r.peak.toFixed(0)} MiB`);
  });
}

import sharp from "sharp";
import { assert } from "./assert.ts";

const SEVEN = Deno.readFileSync(new URL("./images/seven.png", import.meta.url));

Deno.test("10,000 mixed good/bad requests leave the live heap and the tensor count flat", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys=cpus",
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

// 48 MP (8064x6048, a phone's largest) in each format that cannot shrink on
// load (PNG: decoded in strips) and that can (JPEG), and a 12 MP HEIC.
for (const kind of ["png", "jpeg", "heic"] as const) {
  Deno.test(`the largest ${kind.toUpperCase()} decodes with peak RSS under 512 MiB (Deno Deploy's smallest)`, async () => {
    const path = await Deno.makeTempFile({ suffix: `.${kind}` });
    try {
      if (kind === "heic") {
        await Deno.copyFile(new URL("../data/robust/phone-6-4.heic", import.meta.url), path);
      } else {
        const page = sharp({ create: { width: 8064, height: 6048, channels: 3, background: "#ebebeb" } })
          .composite([{ input: await sharp(SEVEN).resize(4800).toBuffer(), left: 1000, top: 600 }]);
        await (kind === "png" ? page.png({ compressionLevel: 1 }) : page.jpeg({ quality: 80 })).toFile(path);
      }
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("./bigimage_child.ts", import.meta.url).pathname, kind, path],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
      assert(r.ink > 5, "the digit was lost");
      assert(r.peak < 512, `peak RSS ${r.peak.toFixed(0)} MiB`);
      console.log(
        `${kind}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB file, peak RSS ${r.before.toFixed(0)} -> ${
          r.peak.toFixed(0)
        } MiB`,
      );
    } finally {
      await Deno.remove(path);
    }
  });
}

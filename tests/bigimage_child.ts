// Run by tests/memory_test.ts: decode and preprocess the largest images the
// edge accepts: a 4000x4000 PNG (16 Mpx, just under the 16,000,000-pixel
// limit) of a few KiB, i.e. a decompression bomb that is still within limits,
// and a 3000x2000 JPEG (the JPEG decoder's memory cap admits 6 Mpx). Prints
// the peak resident memory (VmHWM) before and after, in MiB.
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { decodeImage } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";

const kind = Deno.args[0];
const w = kind === "png" ? 4000 : 3000, h = kind === "png" ? 4000 : 2000;
const gray = new Uint8Array(w * h).fill(255);
for (let y = 300; y < h - 300; y++) gray.fill(0, y * w + (w >> 1) - 100, y * w + (w >> 1) + 100);
const bytes = kind === "png"
  ? encodePng({ width: w, height: h, data: gray, channels: 1, depth: 8 })
  : jpeg.encode({
    width: w,
    height: h,
    data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : gray[i >> 2])),
  }, 50).data;
gray.fill(0); // the fixture itself should not count; its buffers are dropped below
const status = () => Deno.readTextFileSync("/proc/self/status");
const hwm = (s: string) => Number(s.match(/VmHWM:\s+(\d+)/)![1]) / 1024;
const before = hwm(status());
const x = toMnist(decodeImage(bytes, kind), kind);
console.log(
  JSON.stringify({ bytes: bytes.length, before, peak: hwm(status()), ink: x.reduce((a, b) => a + b, 0) }),
);

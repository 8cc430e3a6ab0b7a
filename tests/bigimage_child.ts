// Run by tests/memory_test.ts: decode and preprocess one of the largest
// images the edge accepts (the file named by the second argument), and print
// the peak resident memory (VmHWM) before and after, in MiB.
import { decodeImage } from "../shared/decode.ts";
import { toMnist } from "../shared/preprocess.ts";
import { stopHeicDecoder } from "../shared/heic_thread.ts";

const [kind, path] = Deno.args;
const bytes = Deno.readFileSync(path);
const hwm = () => Number(Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+)/)![1]) / 1024;
const before = hwm();
const x = toMnist(await decodeImage(bytes, kind), kind);
console.log(JSON.stringify({ bytes: bytes.length, before, peak: hwm(), ink: x.reduce((a, b) => a + b, 0) }));
stopHeicDecoder();

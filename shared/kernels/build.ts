// deno task build:kernels: assemble simd.wat into simd.wasm (committed, so
// that no process compiles the text at start-up; tests/kernels_test.ts checks
// that the two still agree).
import wabtInit from "wabt";

export const WAT = new URL("./simd.wat", import.meta.url);
export const WASM = new URL("./simd.wasm", import.meta.url);

/** The binary of a wat source with SIMD and relaxed SIMD (deterministic: no names section). */
export async function assemble(source: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("simd.wat", source, { simd: true, relaxed_simd: true });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

if (import.meta.main) {
  const bytes = await assemble(await Deno.readTextFile(WAT));
  await Deno.writeFile(WASM, bytes);
  console.log(`wrote ${WASM.pathname} (${bytes.length} bytes)`);
}

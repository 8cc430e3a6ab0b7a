// Identity as a shared reference (no copy) instead of the wasm backend's
// copying kernel; strings go to the backend's own kernel.
import type { Args, Info } from "./common.ts";

/**
 * Identity as a shared reference (as Reshape already is on wasm, and Identity
 * on cpu): the engine clones every tensor a gradient saves through Identity,
 * and the wasm backend's own kernel copies the data each time.
 */
export function identity(args: Args<{ x: Info }>): Info | null {
  const { inputs: { x }, backend } = args;
  if (x.dtype === "string") return null;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

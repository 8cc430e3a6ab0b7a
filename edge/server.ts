// Wiring shared by the entries: the wasm backend, the shipped weights (read
// relative to this file, so it works from any cwd and on Deno Deploy), the app.
import { useBackend } from "../shared/backend.ts";
import { createApp } from "./app.ts";
import { loadVerifier } from "./verifier.ts";
import { createDecodePool } from "./decode_pool.ts";

export const WEIGHTS_DIR = new URL("../weights/", import.meta.url);

/**
 * The app; the model loads in the background and /readyz turns 200 when it is
 * verified. Large images decode on a pool of one worker per core (at most 4).
 */
export function buildApp(dir = WEIGHTS_DIR, load = loadVerifier) {
  const verifier = useBackend("wasm").then(() => load(dir));
  const decodePool = createDecodePool(Math.min(4, navigator.hardwareConcurrency ?? 1));
  return { app: createApp({ verifier, decodePool }), verifier, decodePool };
}

// Backend selection. wasm is the default everywhere; WebGPU only on a real
// hardware adapter (a software rasterizer such as llvmpipe is far slower
// than wasm); cpu is the pure-JS reference used by gradient checks.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

/** The TF.js backends the project runs on: wasm (the default), webgpu, cpu (pure-JS reference). */
export type BackendName = "wasm" | "webgpu" | "cpu";

/**
 * True when navigator.gpu offers an adapter that is not a software fallback.
 *
 * @example
 * ```ts
 * import { hasHardwareGpu } from "./backend.ts";
 *
 * const gpu = await hasHardwareGpu(); // false without WebGPU, and on llvmpipe or SwiftShader
 * if (typeof gpu !== "boolean") throw new Error("not a yes or no");
 * ```
 */
export async function hasHardwareGpu(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } })?.gpu;
  if (!gpu) return false;
  try {
    const a = await gpu.requestAdapter() as
      | {
        isFallbackAdapter?: boolean;
        info?: { description?: string; vendor?: string; isFallbackAdapter?: boolean };
      }
      | null;
    if (!a || a.isFallbackAdapter || a.info?.isFallbackAdapter) return false;
    const name = `${a.info?.vendor ?? ""} ${a.info?.description ?? ""}`.toLowerCase();
    return !/llvmpipe|swiftshader|software|lavapipe/.test(name);
  } catch {
    return false;
  }
}

/**
 * Activate a backend ("auto": webgpu on real hardware, else wasm). Returns its name.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { useBackend } from "./backend.ts";
 *
 * if ((await useBackend("wasm")) !== "wasm" || tf.getBackend() !== "wasm") throw new Error("not on wasm");
 * if (tf.add(1, 2).arraySync() !== 3) throw new Error("wasm cannot add");
 * ```
 */
export async function useBackend(name: BackendName | "auto"): Promise<BackendName> {
  tf.env().set("IS_TEST", true); // silences the "install tfjs-node" banner...
  const chosen: BackendName = name === "auto" ? ((await hasHardwareGpu()) ? "webgpu" : "wasm") : name;
  if (chosen === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend(chosen))) throw new Error(`Cannot initialise TF.js backend "${chosen}"`);
  await tf.ready();
  tf.env().set("IS_TEST", false); // ...but must not stay on: it adds leak checks per kernel
  return chosen;
}

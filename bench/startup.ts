// What a cold start is made of: each phase of loading the service, timed in
// a fresh process (run as a child of `deno task bench:edge`, which prints the
// medians). Run directly, it prints one process's phases as JSON.
import { serveFlags } from "../edge/spawn.ts";
import { median } from "./stats.ts";

/** Milliseconds per phase, in order, of one fresh process. */
async function phases(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    out[name] = now - t;
    t = now;
  };
  await import("../edge/server.ts");
  lap("import the app (Hono, the edge, shared/)");
  await import("sharp");
  lap("import sharp and libvips (done on first use, or a second after start-up)");
  const { loadArtifact, weightsFile } = await import("../shared/artifact.ts");
  const { kernelModule } = await import("../shared/kernels/simd.ts");
  const { KernelModel } = await import("../shared/kernels/infer.ts");
  const dir = new URL("../weights/", import.meta.url);
  const text = await Deno.readTextFile(new URL("model.json", dir));
  const bin = await Deno.readFile(new URL(weightsFile(text), dir));
  lap("read the weights");
  const art = await loadArtifact(text, bin);
  lap("verify (SHA-256) and decode them");
  kernelModule();
  lap("compile the kernels");
  const model = new KernelModel(art.params, art.config);
  lap("pack the weights, folding batch norm into them (Winograd transform included)");
  model.pairLogits(new Float32Array(2 * art.config.inputSize ** 2));
  lap("first pair");
  return out;
}

/** Medians of each phase over `runs` fresh processes. */
export async function startupPhases(runs = 5): Promise<[string, number][]> {
  const all: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...serveFlags(), new URL(import.meta.url).pathname],
      stderr: "inherit",
    }).output();
    all.push(JSON.parse(new TextDecoder().decode(o.stdout)));
  }
  return Object.keys(all[0]).map((k) => {
    return [k, median(all.map((r) => r[k]))];
  });
}

if (import.meta.main) console.log(JSON.stringify(await phases()));

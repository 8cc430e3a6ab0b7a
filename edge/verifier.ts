// The loaded model as the edge uses it: verified artifact -> BN-folded
// weights on the project's SIMD kernels (shared/kernels/infer.ts), scoring
// pairs or embedding images. No TF.js here.
import { ArtifactError, loadArtifact, weightsFile } from "../shared/artifact.ts";
import type { ModelConfig } from "../shared/config.ts";
import { KernelModel } from "../shared/kernels/infer.ts";
import { sigmoid } from "../shared/model.ts";
import { SIDE } from "../shared/preprocess.ts";

export interface Verifier {
  config: ModelConfig;
  threshold: number;
  /** Short model version (first 12 hex of the weights' SHA-256) and the full hash. */
  version: string;
  sha256: string;
  /** Logit and probability of "same digit" for two MNIST-like inputs, Float32Array(SIDE * SIDE) each. */
  score(a: Float32Array, b: Float32Array): { logit: number; probability: number };
  /** Logits of B pairs as one batch: the B first images, then the B second ones (S*S values each). */
  scoreBatch(batch: Float32Array): Float32Array;
  /** Embedding of one MNIST-like input. */
  embed(x: Float32Array): Float32Array;
  /** Bytes of the kernels' memory now (sized at load; it cannot grow). */
  readonly memoryBytes: number;
}

/** Build a Verifier from artifact files (already read); throws ArtifactError if they disagree. */
export async function createVerifier(modelJsonText: string, bin: Uint8Array): Promise<Verifier> {
  const art = await loadArtifact(modelJsonText, bin);
  if (art.config.inputSize !== SIDE) {
    // Images are turned into the MNIST format, SIDE x SIDE; a model of another size cannot read them.
    throw new ArtifactError(
      `the model's input is ${art.config.inputSize}x${art.config.inputSize}; the edge makes ${SIDE}x${SIDE} images`,
    );
  }
  const model = new KernelModel(art.params, art.config);
  const side = art.config.inputSize, pair = new Float32Array(2 * side * side);
  model.pairLogits(pair); // warm-up: the first call runs the kernels before V8 has optimised them
  return {
    config: art.config,
    threshold: art.threshold,
    version: art.sha256.slice(0, 12),
    sha256: art.sha256,
    score(a, b) {
      pair.set(a, 0);
      pair.set(b, a.length);
      const logit = model.pairLogits(pair)[0];
      return { logit, probability: sigmoid(logit) };
    },
    scoreBatch: (batch) => model.pairLogits(batch),
    embed: (x) => model.embed(x),
    get memoryBytes() {
      return model.memory.buffer.byteLength;
    },
  };
}

/** Read model.json and its .bin from `dir` (a file: URL ending in /) and verify them. */
export async function loadVerifier(dir: URL): Promise<Verifier> {
  const text = await Deno.readTextFile(new URL("model.json", dir));
  return createVerifier(text, await Deno.readFile(new URL(weightsFile(text), dir)));
}

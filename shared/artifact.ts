// The files in weights/: model.json (TF.js weights manifest + what serving
// needs: config, threshold, SHA-256 and size of the .bin) and weights.bin.
// Training's provenance and metrics live in meta.json beside them.
import { checkModelConfig, type ModelConfig } from "./config.ts";
import type { ParamMap } from "./params.ts";
import { paramSpecs } from "./params.ts";
import {
  decodeWeights,
  encodeWeights,
  entryBytes,
  type Quantize,
  sha256Hex,
  type WeightEntry,
} from "./weights.ts";

/**
 * The name of the weights file beside model.json, as the manifest lists it.
 *
 * @example
 * ```ts
 * import { WEIGHTS_FILE } from "./artifact.ts";
 *
 * const bin = await Deno.readFile(new URL(`../weights/${WEIGHTS_FILE}`, import.meta.url));
 * if (bin.length === 0) throw new Error("the shipped weights are empty");
 * ```
 */
export const WEIGHTS_FILE = "weights.bin";

/** model.json as written: a TF.js weights manifest plus serving metadata. */
export interface ModelJson {
  format: "siamese-weights";
  generatedBy: string;
  convertedBy: null;
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
  userDefinedMetadata: {
    config: ModelConfig;
    /** Decision threshold on the probability of "same", chosen on validation. */
    threshold: number;
    quantize: Quantize;
    files: Record<string, { sha256: string; bytes: number }>;
  };
}

/**
 * Encode params into model.json text and weights.bin bytes.
 *
 * @example
 * ```ts
 * import { buildArtifact, WEIGHTS_FILE } from "./artifact.ts";
 * import { initParams } from "./params.ts";
 * import { createRng } from "./rng.ts";
 *
 * const config = { inputSize: 4, conv1: 2, conv2: 2, embedding: 3, bnEpsilon: 1e-5, bnMomentum: 0.1 };
 * const params = initParams(config, createRng(1));
 * const { modelJson, bin } = await buildArtifact(params, config, 0.5, "none", "example");
 * const file = modelJson.userDefinedMetadata.files[WEIGHTS_FILE];
 * if (file.bytes !== bin.length || file.sha256.length !== 64) throw new Error("manifest does not fit");
 * ```
 */
export async function buildArtifact(
  params: ParamMap,
  config: ModelConfig,
  threshold: number,
  quantize: Quantize,
  generatedBy: string,
): Promise<{ modelJson: ModelJson; bin: Uint8Array }> {
  const order = paramSpecs(config).map((s) => s.name);
  const { entries, data } = encodeWeights(params, order, quantize);
  return {
    bin: data,
    modelJson: {
      format: "siamese-weights",
      generatedBy,
      convertedBy: null,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: entries }],
      userDefinedMetadata: {
        config,
        threshold,
        quantize,
        files: { [WEIGHTS_FILE]: { sha256: await sha256Hex(data), bytes: data.length } },
      },
    },
  };
}

/**
 * The .bin file model.json names, checked to be a plain file name (the
 * manifest must not point outside its directory). Throws ArtifactError.
 *
 * @example
 * ```ts
 * import { ArtifactError, weightsFile } from "./artifact.ts";
 *
 * const manifest = (path: string) => JSON.stringify({ weightsManifest: [{ paths: [path] }] });
 * if (weightsFile(manifest("weights.bin")) !== "weights.bin") throw new Error("plain name refused");
 * try {
 *   weightsFile(manifest("../../etc/passwd"));
 *   throw new Error("a path outside the directory was accepted");
 * } catch (e) {
 *   if (!(e instanceof ArtifactError)) throw e;
 * }
 * ```
 */
export function weightsFile(modelJsonText: string): string {
  let path: unknown;
  try {
    path = JSON.parse(modelJsonText)?.weightsManifest?.[0]?.paths?.[0];
  } catch (e) {
    throw new ArtifactError(`Cannot read model.json: ${(e as Error).message}`);
  }
  if (typeof path !== "string" || !/^[\w-][\w.-]*$/.test(path)) {
    throw new ArtifactError(`Refusing weights path ${JSON.stringify(path)} in model.json`);
  }
  return path;
}

/**
 * Thrown when the artifact does not match its own manifest.
 *
 * @example
 * ```ts
 * import { ArtifactError, loadArtifact } from "./artifact.ts";
 *
 * const error = await loadArtifact("{}", new Uint8Array()).catch((e) => e);
 * if (!(error instanceof ArtifactError)) throw new Error("not an ArtifactError");
 * ```
 */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

/**
 * Check model.json and weights.bin against each other (manifest shape, sizes,
 * SHA-256) and decode them. Throws ArtifactError on any mismatch, so a
 * tampered or truncated file is never served.
 *
 * @example
 * ```ts
 * import { loadArtifact } from "./artifact.ts";
 *
 * const dir = new URL("../weights/", import.meta.url);
 * const text = await Deno.readTextFile(new URL("model.json", dir));
 * const bin = await Deno.readFile(new URL("weights.bin", dir));
 * const { config, threshold, params } = await loadArtifact(text, bin);
 * if (config.inputSize !== 28 || !(threshold > 0 && threshold < 1)) throw new Error("bad config");
 * if (params["conv1/kernel"].shape.join() !== `3,3,1,${config.conv1}`) throw new Error("bad params");
 * bin[0] ^= 1; // one flipped bit: the SHA-256 no longer matches
 * const refused = await loadArtifact(text, bin).catch((e) => e);
 * if (!(refused instanceof Error)) throw new Error("tampering went unnoticed");
 * ```
 */
export async function loadArtifact(modelJsonText: string, bin: Uint8Array) {
  let m: ModelJson;
  try {
    m = JSON.parse(modelJsonText);
  } catch (e) {
    throw new ArtifactError(`Cannot read model.json: ${(e as Error).message}`);
  }
  const meta = m?.userDefinedMetadata;
  const group = m?.weightsManifest?.[0];
  if (m?.format !== "siamese-weights" || !meta?.config || !group || m.weightsManifest.length !== 1) {
    throw new ArtifactError(`Cannot read model.json: not a siamese-weights manifest`);
  }
  const config = checkModelConfig(meta.config);
  if (!(meta.threshold >= 0 && meta.threshold <= 1)) {
    throw new ArtifactError(`Cannot read model.json: threshold ${meta.threshold} is not in 0..1`);
  }
  const file = meta.files?.[group.paths[0]];
  if (!file) throw new ArtifactError(`Cannot read model.json: no hash for "${group.paths[0]}"`);
  const want = group.weights.reduce((a, e) => a + entryBytes(e), 0);
  if (bin.length !== file.bytes || bin.length !== want) {
    throw new ArtifactError(
      `Refusing weights "${
        group.paths[0]
      }": ${bin.length} bytes, manifest says ${file.bytes} (entries need ${want})`,
    );
  }
  const sha = await sha256Hex(bin);
  if (sha !== file.sha256) {
    throw new ArtifactError(`Refusing weights "${group.paths[0]}": SHA-256 ${sha} is not ${file.sha256}`);
  }
  const expected = paramSpecs(config);
  const names = group.weights.map((w) => w.name);
  for (const s of expected) {
    const e = group.weights.find((w) => w.name === s.name);
    if (!e || e.shape.join() !== s.shape.join()) {
      throw new ArtifactError(`Refusing weights: "${s.name}" missing or not of shape [${s.shape}]`);
    }
  }
  if (names.length !== expected.length) {
    throw new ArtifactError(`Refusing weights: ${names.length} entries, config needs ${expected.length}`);
  }
  return {
    config,
    threshold: meta.threshold,
    sha256: sha,
    params: decodeWeights(bin, group.weights),
    modelJson: m,
  };
}

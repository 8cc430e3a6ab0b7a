import { gzipSync } from "node:zlib";
import { IdxError, makeSplit, parseIdxImages, parseIdxLabels } from "../train/data/idx.ts";
import { loadDataset } from "../train/data/mnist.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

function idx3(count: number, rows = 28, cols = 28, fill = 7): Uint8Array {
  const b = new Uint8Array(16 + count * rows * cols).fill(fill);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x803);
  v.setUint32(4, count);
  v.setUint32(8, rows);
  v.setUint32(12, cols);
  return b;
}
function idx1(labels: number[]): Uint8Array {
  const b = new Uint8Array(8 + labels.length);
  new DataView(b.buffer).setUint32(0, 0x801);
  new DataView(b.buffer).setUint32(4, labels.length);
  b.set(labels, 8);
  return b;
}

Deno.test("parseIdxImages() reads count, size and pixels", () => {
  const img = parseIdxImages(idx3(2), "x");
  assertEquals([img.count, img.rows, img.cols, img.pixels.length, img.pixels[0]], [2, 28, 28, 1568, 7]);
});

Deno.test("parseIdxImages() rejects a wrong magic number, naming the file", () => {
  const b = idx3(1);
  b[3] = 0x01;
  assertThrows(
    () => parseIdxImages(b, "train-images"),
    /"train-images".*magic number 0x00000801 is not 0x00000803/,
  );
});

Deno.test("parseIdxImages() rejects a truncated file and a short header", () => {
  assertThrows(() => parseIdxImages(idx3(3).subarray(0, 100), "t"), /declares 3 images.*100 bytes/);
  assertThrows(
    () => parseIdxImages(new Uint8Array(5), "t"),
    IdxError,
    "5 bytes is shorter than its 16-byte header",
  );
});

Deno.test("parseIdxLabels() rejects labels outside 0..9 and bad lengths", () => {
  assertEquals([...parseIdxLabels(idx1([0, 9, 3]), "l")], [0, 9, 3]);
  assertThrows(() => parseIdxLabels(idx1([1, 12]), "l"), /label 12 at index 1/);
  assertThrows(() => parseIdxLabels(idx1([1, 2]).subarray(0, 9), "l"), /declares 2 labels/);
});

Deno.test("makeSplit() rejects image/label count mismatch and non-28x28 images", () => {
  assertThrows(
    () => makeSplit(parseIdxImages(idx3(2), "i"), parseIdxLabels(idx1([1]), "l"), "train"),
    /2 images but 1 labels/,
  );
  assertThrows(
    () => makeSplit(parseIdxImages(idx3(1, 32, 32), "i"), parseIdxLabels(idx1([1]), "l"), "train"),
    /32x32/,
  );
});

Deno.test("loadDataset() reads a directory of gzipped IDX files (Fashion-MNIST layout)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeFileSync(`${dir}/train-images-idx3-ubyte.gz`, gzipSync(idx3(4)));
    Deno.writeFileSync(`${dir}/train-labels-idx1-ubyte.gz`, gzipSync(idx1([1, 2, 3, 4])));
    Deno.writeFileSync(`${dir}/t10k-images-idx3-ubyte`, idx3(2));
    Deno.writeFileSync(`${dir}/t10k-labels-idx1-ubyte`, idx1([5, 6]));
    const d = loadDataset(dir);
    assertEquals([d.train.images.count, d.test.images.count, [...d.test.labels]], [4, 2, [5, 6]]);
    assert(/^[0-9a-f]{64}$/.test(d.source.sha256["train-images-idx3-ubyte"]));
    Deno.removeSync(`${dir}/t10k-labels-idx1-ubyte`);
    assertThrows(() => loadDataset(dir), /t10k-labels-idx1-ubyte" \(or \.gz\) not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDataset() verifies the real MNIST files by MD5", () => {
  const d = loadDataset();
  assertEquals([d.train.images.count, d.test.images.count, d.source.verifiedMnist], [60000, 10000, true]);
});

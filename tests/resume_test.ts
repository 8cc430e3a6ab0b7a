// Training that loses nothing: a run killed after a checkpoint and resumed
// ends with the same weights as an uninterrupted run; weights/ is swapped
// atomically; bad training input stops before any training.
import { loadDataset } from "../train/data/mnist.ts";
import { writeMnistSlice } from "./fixtures.ts";
import { assert, assertEquals } from "./assert.ts";

const MAIN = new URL("../train/main.ts", import.meta.url).pathname;
const mnist = loadDataset();
const ARGS = [
  "--epochs",
  "3",
  "--steps",
  "15",
  "--batch",
  "10",
  "--val-pairs",
  "100",
  "--workers",
  "2",
  "--no-report",
];

function train(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...ARGS, ...args],
    stdout: "piped",
    stderr: "piped",
  });
}
const sha = async (dir: string) =>
  JSON.parse(await Deno.readTextFile(`${dir}/model.json`)).userDefinedMetadata.files;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("a run killed after its first checkpoint and resumed equals an uninterrupted run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeMnistSlice(dir, 1500, 300, mnist);
    const full = await train(["--data", dir, "--out", `${dir}/a`]).output();
    assertEquals(full.code, 0, new TextDecoder().decode(full.stderr));

    const child = train(["--data", dir, "--out", `${dir}/b`]).spawn();
    while (!(await exists(`${dir}/b.ckpt/checkpoint.json`))) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    await child.output();
    assert(!(await exists(`${dir}/b/model.json`)), "the run finished before it was killed");

    const resumed = await train(["--data", dir, "--out", `${dir}/b`, "--resume"]).output();
    const log = new TextDecoder().decode(resumed.stdout);
    assertEquals(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
    assert(/resuming after epoch [12] from/.test(log), log);
    assertEquals(await sha(`${dir}/b`), await sha(`${dir}/a`));
    assert(!(await exists(`${dir}/b.ckpt`)), "checkpoint left after a successful export");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--resume without a checkpoint, and corrupt training data, stop with a clear message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    writeMnistSlice(dir, 200, 100, mnist);
    const none = await train(["--data", dir, "--out", `${dir}/w`, "--resume"]).output();
    assertEquals(none.code, 1);
    assert(new TextDecoder().decode(none.stderr).includes(`Cannot resume: no checkpoint in ${dir}/w.ckpt/`));
    const labels = await Deno.readFile(`${dir}/train-labels-idx1-ubyte`);
    await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, labels.subarray(0, 150));
    const bad = await train(["--data", dir, "--out", `${dir}/w`]).output();
    assertEquals(bad.code, 1);
    assert(/train-labels-idx1-ubyte.*declares 200 labels/.test(new TextDecoder().decode(bad.stderr)));
    assert(!(await exists(`${dir}/w`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an export killed at any moment leaves the old or the new complete artifact", async () => {
  const dir = await Deno.makeTempDir();
  const io = new URL("../train/artifact_io.ts", import.meta.url).href;
  const write = (tag: string, mb: number) =>
    `import { writeArtifactDir } from "${io}";
     await writeArtifactDir("${dir}/w", { "tag.txt": "${tag}", "big.bin": new Uint8Array(${mb} << 20).fill(${tag.length}) });`;
  const run = (code: string) =>
    new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null", stderr: "null" }).spawn();
  try {
    assertEquals((await run(write("old", 1)).status).code, 0);
    for (const delay of [0, 5, 15, 30, 60, 120]) {
      const child = run(write("newer", 48));
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await child.status;
      await (await import("../train/artifact_io.ts")).recoverArtifactDir(`${dir}/w`);
      const tag = await Deno.readTextFile(`${dir}/w/tag.txt`);
      const big = await Deno.readFile(`${dir}/w/big.bin`);
      const want = tag === "old" ? [1 << 20, 3] : [48 << 20, 5];
      assert(tag === "old" || tag === "newer", `mixed artifact: tag ${tag}`);
      assertEquals([big.length, big[0], big[big.length - 1]], [want[0], want[1], want[1]], `delay ${delay}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

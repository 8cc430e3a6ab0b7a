// Training that loses nothing: a run killed after a checkpoint and resumed
// ends with the same weights as an uninterrupted run; weights/ is swapped
// atomically; bad training input stops before any training.
import { loadDataset } from "../train/data/mnist.ts";
import { recoverArtifactDir, writeArtifactDir } from "../train/artifact_io.ts";
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

Deno.test("bad --tilt and --threshold-rule values stop with exit code 2 and the flag's name", async () => {
  for (
    const [args, message] of [
      [["--tilt", "0.5,30"], 'Invalid --tilt "0.5,30"'],
      [["--tilt", "1.5,30,20"], 'Invalid --tilt "1.5,30,20"'],
      [["--recipe", "seed", "--tilt", "0.5,30,20"], "--tilt needs augmentation"],
      [["--threshold-rule", "median"], 'Invalid --threshold-rule "median": expected balanced, prior, both'],
    ] as const
  ) {
    const out = await train([...args, "--out", "/nonexistent/never"]).output();
    assertEquals(out.code, 2, args.join(" "));
    assert(new TextDecoder().decode(out.stderr).includes(message), new TextDecoder().decode(out.stderr));
  }
});

Deno.test("an export killed at any moment leaves the old or the new complete artifact", async () => {
  const dir = await Deno.makeTempDir();
  // The child prints "writing" just before writeArtifactDir() and "written"
  // once it has returned (console.log writes synchronously), so its output
  // after a kill tells whether the kill landed while the export was under way.
  const child = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { writeArtifactDir } from "${new URL("../train/artifact_io.ts", import.meta.url).href}";
         const files = { "tag.txt": "newer", "big.bin": new Uint8Array(48 << 20).fill(5) };
         console.log("writing");
         const t0 = performance.now();
         await writeArtifactDir("${dir}/w", files);
         console.log("written", performance.now() - t0);`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
  /** Run a child; kill it `delay` ms after it starts writing (never: let it finish; -1: before it writes). */
  const runKilledAfter = async (delay: number | "never" | -1) => {
    const c = child();
    const out = c.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    if (delay === -1) c.kill("SIGKILL");
    else {
      while (!text.includes("writing\n")) {
        const { value, done } = await out.read();
        if (done) break;
        text += value;
      }
      if (delay !== "never") {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        try {
          c.kill("SIGKILL");
        } catch (e) {
          if (!(e instanceof TypeError)) throw e; // it had already exited
        }
      }
    }
    for (let r = await out.read(); !r.done; r = await out.read()) text += r.value;
    const status = await c.status;
    return { text, status, started: text.includes("writing\n"), finished: text.includes("written") };
  };
  const old = () =>
    writeArtifactDir(`${dir}/w`, { "tag.txt": "old", "big.bin": new Uint8Array(1 << 20).fill(3) });
  try {
    // How long one uninterrupted export takes here, to spread the kills over it.
    await old();
    const full = await runKilledAfter("never");
    assertEquals(full.status.code, 0, full.text);
    const ms = Number(full.text.match(/written ([\d.]+)/)![1]);
    const delays = [
      -1,
      0,
      ...[0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8].map((f) => Math.round(f * ms)),
      2 * ms,
    ];
    const landed: string[] = [];
    let midWrite = 0;
    for (const delay of delays) {
      await old();
      const run = await runKilledAfter(delay);
      const during = run.started && !run.finished;
      if (during) midWrite++;
      await recoverArtifactDir(`${dir}/w`);
      const tag = await Deno.readTextFile(`${dir}/w/tag.txt`);
      const big = await Deno.readFile(`${dir}/w/big.bin`);
      landed.push(`${delay} ms: ${during ? "mid-write" : run.started ? "after" : "before"} -> ${tag}`);
      const want = tag === "old" ? [1 << 20, 3] : [48 << 20, 5];
      assert(tag === "old" || tag === "newer", `mixed artifact: tag ${tag}`);
      assertEquals(
        [big.length, big[0], big[big.length - 1]],
        [want[0], want[1], want[1]],
        `${landed.at(-1)}, big.bin ${big.length} bytes`,
      );
      // A killed export leaves its temporary sibling behind; clear it for the next kill.
      for await (const e of Deno.readDir(dir)) {
        if (e.name !== "w") await Deno.remove(`${dir}/${e.name}`, { recursive: true });
      }
    }
    assert(midWrite >= 3, `only ${midWrite} kills landed during the write (one export: ${ms} ms): ${landed}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

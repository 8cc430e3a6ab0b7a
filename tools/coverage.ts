// deno task coverage [--report-only] [deno test arguments...]: coverage as
// proof that every client input reaches a defined answer. Runs the test suite
// (tests/, which includes tests/fuzz_test.ts: a seeded fuzz slice and the
// regression corpus, and the doc examples of shared/ and edge/) with
// coverage, then prints line and branch coverage of each file
// on the input path, their totals, and every coverage-ignore comment in
// them with its reason. Exits 1 when any of those files is below 95% lines
// or 95% branches, is missing from the report, or when a test failed.
//
// What is measured: the test process, its Web Workers (the HEIC decoder,
// the server's isolates) and the `deno` child processes it spawns (the
// served edge/main.ts of spawnServer): `deno test --coverage=DIR` sets
// DENO_COVERAGE_DIR, which children inherit, and each writes its profile
// there when it exits normally (edge/main.ts exits on SIGTERM; a child
// killed with SIGKILL writes none). A server started by hand is measured
// the same way: DENO_COVERAGE_DIR=out/cov deno task serve.
//
// --report-only: no test run, report the profiles already in out/cov.
// Other arguments replace the suite: `deno task coverage tests/cov_heic_test.ts`.
// Figures only, no timings. They move between runs only where a test leaves
// a path to timing (a spawned server whose sharp wasm32 probe passes 3 s).
const DIR = "out/cov";
const MIN = 95;
/** The input path: every file a client's bytes pass through before an answer. */
const FILES = [
  "edge/inputs.ts",
  "edge/app.ts",
  "edge/errors.ts",
  "edge/body.ts",
  "edge/multipart.ts",
  "shared/image.ts",
  "shared/preprocess.ts",
  "shared/decode.ts",
  "shared/decode_js.ts",
  "shared/format.ts",
  "shared/orient.ts",
  "shared/gray.ts",
  "shared/png.ts",
  "shared/bmp.ts",
  "shared/heic.ts",
  "shared/heic_thread.ts",
  "shared/heic_worker.ts",
];

/**
 * What `deno task test` runs but train/ (not on the input path) and
 * tests/deno25_test.ts: its server runs on Deno 2.5, whose profiles this
 * Deno does not read (tried: alone, they gave edge/app.ts 0% of its
 * functions though it served requests; with other tests, the same figures
 * as without it). The JavaScript-decoder path it runs is marked ignored in
 * shared/decode.ts for that reason.
 */
const SUITE = ["--doc", "--ignore=tests/deno25_test.ts", "tests/", "shared/", "edge/"];

const root = new URL("../", import.meta.url).pathname;
const args = Deno.args.filter((a) => a !== "--report-only");
const reportOnly = Deno.args.includes("--report-only");

async function deno(argv: string[], stdio: "inherit" | "piped") {
  // NO_COLOR for the report's own output, which is parsed; the test run keeps its colours.
  const env = stdio === "piped" ? { NO_COLOR: "1" } : undefined;
  return await new Deno.Command(Deno.execPath(), { args: argv, cwd: root, stdout: stdio, stderr: stdio, env })
    .output();
}

let testsOk = true;
if (!reportOnly) {
  await Deno.remove(`${root}${DIR}`, { recursive: true }).catch(() => {});
  const run = await deno(
    // --no-check: `deno task check` type-checks; here a type error elsewhere
    // (a file being edited) should fail its own tests, not stop the report.
    [
      "test",
      "--allow-all",
      "--no-check",
      `--coverage=${DIR}`,
      "--coverage-raw-data-only",
      ...(args.length ? args : SUITE),
    ],
    "inherit",
  );
  testsOk = run.success;
}

// The report. A file changed after its profile was written is skipped by
// `deno coverage` ("Missing transpiled source code"): it shows as missing.
const report = await deno(["coverage", DIR, "--lcov", `--output=${DIR}/lcov.info`], "piped");
const notes = new TextDecoder().decode(report.stderr).split("\n")
  .filter((l) => /missing transpiled source|skipping/i.test(l) && l.includes(`file://${root}`));
if (!report.success) {
  console.error(new TextDecoder().decode(report.stderr));
  Deno.exit(1);
}

interface FileCov {
  lines: Map<number, number>;
  /** line -> [taken, total] */
  branches: Map<number, [number, number]>;
}
const cov = new Map<string, FileCov>();
let cur: FileCov | undefined;
for (const l of (await Deno.readTextFile(`${root}${DIR}/lcov.info`)).split("\n")) {
  if (l.startsWith("SF:")) {
    const path = l.slice(3);
    cur = { lines: new Map(), branches: new Map() };
    if (path.startsWith(root)) cov.set(path.slice(root.length), cur);
  } else if (l.startsWith("DA:") && cur) {
    const [line, n] = l.slice(3).split(",").map(Number);
    cur.lines.set(line, (cur.lines.get(line) ?? 0) + n);
  } else if (l.startsWith("BRDA:") && cur) {
    const [line, , , taken] = l.slice(5).split(",");
    const b = cur.branches.get(+line) ?? [0, 0];
    b[1]++;
    if (taken !== "-" && Number(taken) > 0) b[0]++;
    cur.branches.set(+line, b);
  } else if (l === "end_of_record") cur = undefined;
}

/** 1,2,3,7,9,10 -> "1-3, 7, 9-10" */
function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; i++) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    out.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j;
  }
  return out.join(", ");
}
const pct = (hit: number, all: number) => (all ? (100 * hit) / all : 100);
const cell = (hit: number, all: number) =>
  `${pct(hit, all).toFixed(1).padStart(6)}% ${`(${hit}/${all})`.padEnd(11)}`;

const failures: string[] = [];
const rows: string[] = [], gaps: string[] = [];
let [lh, lf, bh, bf] = [0, 0, 0, 0];
const width = Math.max(...FILES.map((f) => f.length));
for (const f of FILES) {
  const c = cov.get(f);
  if (!c) {
    rows.push(`${f.padEnd(width)}  not in the report (never loaded, or changed during the run)`);
    failures.push(`${f}: not measured`);
    continue;
  }
  const lines = [...c.lines], branches = [...c.branches.values()];
  const l = [lines.filter(([, n]) => n > 0).length, lines.length];
  const b = [branches.reduce((s, [t]) => s + t, 0), branches.reduce((s, [, n]) => s + n, 0)];
  [lh, lf, bh, bf] = [lh + l[0], lf + l[1], bh + b[0], bf + b[1]];
  const low = pct(l[0], l[1]) < MIN || pct(b[0], b[1]) < MIN;
  rows.push(`${f.padEnd(width)}  ${cell(l[0], l[1])}  ${cell(b[0], b[1])}${low ? "  < 95%" : ""}`);
  if (low) failures.push(`${f}: below ${MIN}%`);
  const missedLines = lines.filter(([, n]) => n === 0).map(([k]) => k).sort((x, y) => x - y);
  const missedBranches = [...c.branches].filter(([, [t, n]]) => t < n).map(([k]) => k).sort((x, y) => x - y);
  if (missedLines.length || missedBranches.length) {
    gaps.push(
      `  ${f}: lines ${ranges(missedLines) || "-"}; branches not taken on lines ${
        ranges(missedBranches) || "-"
      }`,
    );
  }
}

console.log(
  `\nCoverage of the input path (${FILES.length} files; gate: ${MIN}% lines and ${MIN}% branches each)\n`,
);
console.log(`${"file".padEnd(width)}  ${"lines".padEnd(19)}  branches`);
for (const r of rows) console.log(r);
console.log(`${"total".padEnd(width)}  ${cell(lh, lf)}  ${cell(bh, bf)}`);
if (gaps.length) console.log(`\nNot covered:\n${gaps.join("\n")}`);

// Every coverage-ignore comment in those files, with the reason on its line.
const ignores: string[] = [];
for (const f of FILES) {
  const text = await Deno.readTextFile(`${root}${f}`).catch(() => "");
  text.split("\n").forEach((l, i) => {
    const m = /deno-coverage-ignore(-start|-stop|-file)?\b(.*)$/.exec(l);
    if (m && m[1] !== "-stop") ignores.push(`  ${f}:${i + 1}  ${m[0].trim()}`);
  });
}
console.log(`\nCoverage-ignore comments: ${ignores.length}`);
for (const i of ignores) console.log(i);

if (notes.length) console.log(`\ndeno coverage:\n${notes.map((n) => `  ${n}`).join("\n")}`);
if (!testsOk) failures.push("a test failed");
if (failures.length) {
  console.log(`\nFAIL: ${failures.join("; ")}`);
  Deno.exit(1);
}
console.log(`\nOK: every file at or above ${MIN}% lines and branches`);

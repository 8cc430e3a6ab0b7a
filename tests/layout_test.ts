// The folder tree draws the architecture: the service (edge/) and what both
// halves share (shared/) never need training code, and shared/ needs neither
// half. Checked on every relative import (static and dynamic) and every
// module URL (workers) in their sources.
import { assert } from "./assert.ts";

const root = new URL("../", import.meta.url);

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(new URL(dir, root))) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) yield* sources(`${path}/`);
    else if (/\.ts$/.test(e.name)) yield path;
  }
}

/** Repository paths that `file` refers to: imports, dynamic imports, new URL(..., import.meta.url). */
function references(file: string): string[] {
  const text = Deno.readTextFileSync(new URL(file, root));
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(?\s*|new URL\(\s*)"(\.{1,2}\/[^"]*)"/g)].map((m) =>
    m[1]
  );
  return specs.map((s) => new URL(s, new URL(file, root)).href.slice(root.href.length));
}

Deno.test("nothing under edge/ or shared/ refers to train/; nothing under shared/ refers to edge/", () => {
  for (const [dir, forbidden] of [["edge/", ["train/"]], ["shared/", ["train/", "edge/"]]] as const) {
    for (const file of sources(dir)) {
      for (const ref of references(file)) {
        assert(!forbidden.some((f) => ref.startsWith(f)), `${file} refers to ${ref}`);
      }
    }
  }
});

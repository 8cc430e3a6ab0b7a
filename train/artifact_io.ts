// Writing and reading weights/ and checkpoints on disk. Writes are atomic at
// the directory level: a temporary sibling is filled (and optionally
// verified), then swapped in by rename, so a crash at any moment leaves
// either the old complete directory or the new complete one.
import { loadArtifact, weightsFile } from "../shared/artifact.ts";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";

const trim = (dir: string) => dir.replace(/\/+$/, "");

/**
 * Undo a crash that hit between the two renames of a swap (dir missing, its
 * previous version parked as dir.old-*): put the newest parked version back.
 */
export async function recoverArtifactDir(dir: string): Promise<void> {
  const clean = trim(dir);
  try {
    await Deno.stat(clean);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const parent = clean.includes("/") ? clean.slice(0, clean.lastIndexOf("/")) || "/" : ".";
  const base = clean.slice(clean.lastIndexOf("/") + 1);
  const parked: string[] = [];
  try {
    for await (const e of Deno.readDir(parent)) if (e.name.startsWith(`${base}.old-`)) parked.push(e.name);
  } catch {
    return;
  }
  if (parked.length) await Deno.rename(`${parent}/${parked.sort().at(-1)}`, clean);
}

/**
 * Write `files` into `dir`, replacing what was there as a whole. `verify`
 * (optional) checks the written copy before it is swapped in; if it throws,
 * the old directory stays and the copy is removed.
 */
export async function writeArtifactDir(
  dir: string,
  files: Record<string, string | Uint8Array>,
  verify?: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const clean = trim(dir);
  await recoverArtifactDir(clean);
  const tmp = `${clean}.tmp-${Date.now()}`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    for (const [name, body] of Object.entries(files)) {
      if (typeof body === "string") await Deno.writeTextFile(`${tmp}/${name}`, body);
      else await Deno.writeFile(`${tmp}/${name}`, body);
    }
    await verify?.(tmp);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const old = `${clean}.old-${Date.now()}`;
  let hadOld = false;
  try {
    await Deno.rename(clean, old);
    hadOld = true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.rename(tmp, clean);
  if (hadOld) await Deno.remove(old, { recursive: true });
}

/** Read and verify weights/ (model.json + its .bin). */
export async function readArtifactDir(dir: string) {
  const clean = trim(dir);
  const text = await Deno.readTextFile(`${clean}/model.json`);
  return loadArtifact(text, await Deno.readFile(`${clean}/${weightsFile(text)}`));
}

/** Write a training checkpoint directory (checkpoint.json + checkpoint.bin) atomically. */
export async function writeCheckpointDir(dir: string, c: Checkpoint): Promise<void> {
  const { json, bin } = encodeCheckpoint(c);
  await writeArtifactDir(dir, { "checkpoint.json": json, "checkpoint.bin": bin });
}

/** Read a checkpoint directory; throws a clear error when there is none. */
export async function readCheckpointDir(dir: string): Promise<Checkpoint> {
  const clean = trim(dir);
  let json: string;
  try {
    json = await Deno.readTextFile(`${clean}/checkpoint.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`Cannot resume: no checkpoint in ${clean}/`);
    throw e;
  }
  return decodeCheckpoint(json, await Deno.readFile(`${clean}/checkpoint.bin`));
}

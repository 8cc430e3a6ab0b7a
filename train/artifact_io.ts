// Writing and reading weights/ on disk. Writes are atomic at the directory
// level: a temporary sibling is filled, then swapped in by rename, so a crash
// leaves either the old complete artifact or the new one.
import { loadArtifact } from "../shared/artifact.ts";

export async function writeArtifactDir(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  const clean = dir.replace(/\/+$/, "");
  const tmp = `${clean}.tmp-${Date.now()}`;
  await Deno.mkdir(tmp, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    if (typeof body === "string") await Deno.writeTextFile(`${tmp}/${name}`, body);
    else await Deno.writeFile(`${tmp}/${name}`, body);
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
  const clean = dir.replace(/\/+$/, "");
  const text = await Deno.readTextFile(`${clean}/model.json`);
  const path = String(JSON.parse(text)?.weightsManifest?.[0]?.paths?.[0] ?? "weights.bin");
  if (!/^[\w.-]+$/.test(path) || path.startsWith(".")) {
    throw new Error(`Refusing weights path "${path}" in ${clean}/model.json`);
  }
  return loadArtifact(text, await Deno.readFile(`${clean}/${path}`));
}

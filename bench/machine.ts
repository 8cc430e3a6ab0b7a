// One line naming the machine, for benchmark output. (/proc needs --allow-all
// under Deno, so this asks lscpu, which --allow-run permits.)
export async function machine(): Promise<string> {
  let cpu = "unknown CPU";
  try {
    const out = await new Deno.Command("lscpu", { stdout: "piped", stderr: "null" }).output();
    cpu = new TextDecoder().decode(out.stdout).match(/Model name:\s*(.*)/)?.[1]?.trim() ?? cpu;
  } catch { /* no lscpu */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}/${Deno.build.arch}; Deno ${Deno.version.deno}`;
}

/** Resident set size of a process in MiB (via ps). */
export async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

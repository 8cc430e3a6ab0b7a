// deno task deploy: deploy edge/main.ts to Deno Deploy with `deno deploy`
// (config: "deploy" in deno.json). `deno deploy` fetches jsr:@deno/deploy at
// run time and needs a token, so check both first and say what is missing.
const HELP =
  "Set DENO_DEPLOY_TOKEN (console.deno.com -> Access tokens) or run `deno deploy` once interactively; " +
  'set "deploy": {"org", "app"} in deno.json to your organization and app.';

async function reachable(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(4000) });
    await r.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

if (!(await reachable("https://jsr.io/@deno/deploy")) || !(await reachable("https://console.deno.com"))) {
  console.error("Cannot deploy: jsr.io or console.deno.com is unreachable from this machine (no network).");
  console.error("The same entry runs locally: `deno task serve`.");
  Deno.exit(1);
}
if (!Deno.env.get("DENO_DEPLOY_TOKEN") && !Deno.stdin.isTerminal()) {
  console.error(`Cannot deploy: no credentials. ${HELP}`);
  Deno.exit(1);
}
const { code } = await new Deno.Command(Deno.execPath(), { args: ["deploy", "--prod", ...Deno.args] }).spawn()
  .status;
if (code !== 0) console.error(`deno deploy failed (exit ${code}). ${HELP}`);
Deno.exit(code);

// deno task deploy: deploy edge/main.ts to Deno Deploy with `deno deploy`
// (config: "deploy" in deno.json, in the platform's documented schema; see
// docs/deploy.md). `deno deploy` fetches jsr:@deno/deploy at run time and
// needs a token and an app, so check what can be checked first and say what
// is missing.
const HELP = [
  "Credentials: set DENO_DEPLOY_TOKEN (console.deno.com/account/tokens), or run `deno deploy` once in a terminal.",
  'The app: set "deploy": {"org", "app"} in deno.json to your organization and app. A first deploy creates it:',
  "  deno deploy create --org <org> --app <app> --source local --runtime-mode dynamic \\",
  '    --entrypoint edge/main.ts --install-command "deno install"',
  '(or run `deno deploy` in a terminal and choose "Create a new application"); deno.json\'s deploy section then',
  "supplies the install step, the entrypoint and the files to upload. Walk-through: docs/deploy.md.",
].join("\n");

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
  console.error(`Cannot deploy: no credentials.\n${HELP}`);
  Deno.exit(1);
}
const { code } = await new Deno.Command(Deno.execPath(), { args: ["deploy", "--prod", ...Deno.args] }).spawn()
  .status;
if (code !== 0) console.error(`deno deploy failed (exit ${code}).\n${HELP}`);
Deno.exit(code);

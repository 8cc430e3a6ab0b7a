/// <reference lib="dom" />
// The demo page in a real browser (Debian's Chromium via playwright-core),
// served by the real edge: draw digits with pointer events, read the verdict,
// drop images, and check that server and in-browser inference agree, and that
// a phone photo picked on the page gives the model the input the server
// computes from the same file.
// Screenshots go to out/screens/. Skipped, saying so, when no Chromium exists.
import { chromium, type Page } from "playwright-core";
import { Buffer } from "node:buffer";
import { digit, digitPng, loadDataset } from "../train/data/mnist.ts";
import { spawnServer } from "../edge/spawn.ts";
import { decodeImage } from "../shared/decode.ts";
import { toMnist } from "../shared/preprocess.ts";
import { phonePhoto } from "../tools/phone_photo.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";
import { meanAbsDiff } from "./fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium) {
  // In CI (CI=true) a page that no browser ran is a failure, not a skip.
  if (Deno.env.get("CI") === "true") {
    throw new Error(`page_test: ${CHROMIUM} not found in CI (apt-get install chromium)`);
  }
  console.warn(`page_test: ${CHROMIUM} not found, browser tests skipped (apt-get install chromium)`);
}
const OUT = new URL("../out/screens/", import.meta.url).pathname;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Draw a polyline (points in 0..1 of the canvas) with mouse events. */
async function stroke(page: Page, canvas: string, pts: [number, number][]) {
  const box = (await page.locator(canvas).boundingBox())!;
  const xy = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  await page.mouse.move(...xy(pts[0]));
  await page.mouse.down();
  for (const p of pts.slice(1)) await page.mouse.move(...xy(p), { steps: 8 });
  await page.mouse.up();
}
const ONE: [number, number][] = [[0.45, 0.18], [0.52, 0.12], [0.52, 0.86]];
const SEVEN: [number, number][] = [[0.22, 0.2], [0.78, 0.2], [0.5, 0.88]];

/**
 * The verdict for the page's current inputs, answered after answer number
 * `after` (the page marks its verdict stale from an input's change until the
 * answer for it is shown).
 */
async function settled(page: Page, after: number) {
  await page.waitForFunction(
    (after) => {
      const out = document.getElementById("verdict")!;
      return (out.dataset.verdict === "same" || out.dataset.verdict === "different") &&
        Number(out.dataset.answers ?? 0) > after && out.dataset.stale === undefined;
    },
    after,
    { timeout: 15000 },
  );
  return {
    verdict: await page.locator("#verdict").getAttribute("data-verdict"),
    p: Number(await page.locator("#probability").getAttribute("data-value")),
    n: Number(await page.locator("#verdict").getAttribute("data-answers")),
  };
}

/** The panels' model inputs as the page shows them (data-input of each preview). */
const shownInputs = (page: Page) =>
  page.evaluate(() => ["a", "b"].map((p) => document.getElementById(`${p}-input`)!.dataset.input ?? ""));

/** Wait until both panels show inputs other than `before` (files are decoded asynchronously). */
async function inputsChanged(page: Page, before: string[]) {
  await page.waitForFunction(
    (before) =>
      ["a", "b"].every((p, i) => (document.getElementById(`${p}-input`)!.dataset.input ?? "") !== before[i]),
    before,
    { timeout: 15000 },
  );
}

Deno.test({
  name: "the page: drawn 1 vs 7 is different, 1 vs 1 is same, dropped images agree on server and in browser",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await Deno.mkdir(OUT, { recursive: true });
    const { child, base } = await spawnServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
      const outside: string[] = [];
      page.on("request", (r) => !r.url().startsWith(base) && outside.push(r.url()));
      await page.goto(base);

      await stroke(page, "#a-canvas", ONE);
      await stroke(page, "#b-canvas", SEVEN);
      const d17 = await settled(page, 0);
      await page.screenshot({ path: `${OUT}one-vs-seven.png` });
      assertEquals(d17.verdict, "different", `1 vs 7: p=${d17.p}`);

      await page.click("#b-clear");
      await stroke(page, "#b-canvas", ONE);
      const d11 = await settled(page, d17.n);
      await page.screenshot({ path: `${OUT}one-vs-one.png` });
      assertEquals(d11.verdict, "same", `1 vs 1: p=${d11.p}`);

      // Two real MNIST test digits as PNG files, through the file inputs.
      const { test } = loadDataset();
      const file = (i: number) => ({
        name: `${i}.png`,
        mimeType: "image/png",
        buffer: Buffer.from(digitPng(digit(test.images.pixels, i))),
      });
      const drawnInputs = await shownInputs(page);
      await page.setInputFiles("#a-file", file(0));
      await page.setInputFiles("#b-file", file(17));
      await inputsChanged(page, drawnInputs);
      // Each file updates the verdict on its own: wait for the answer to both.
      const server = await settled(page, d11.n);
      await page.check("#mode-browser");
      const local = await settled(page, server.n);
      await page.screenshot({ path: `${OUT}dropped-browser-mode.png` });
      assertClose(local.p, server.p, 1e-4, "server vs browser probability");
      assertEquals(outside, []);

      const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, hasTouch: true });
      await phone.goto(base);
      await phone.screenshot({ path: `${OUT}phone.png`, fullPage: true });
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 390, `page scrolls sideways on a phone (${width}px)`);
    } finally {
      await browser.close();
      child.kill("SIGTERM");
      await child.status;
    }
  },
});

/** The 784 values a panel's preview holds (data-input), as the page fed them to the model. */
async function pageInput(page: Page, panel: "a" | "b") {
  const text = await page.locator(`#${panel}-input`).getAttribute("data-input");
  assert(text, `panel ${panel} has no model input`);
  return Float32Array.from(text.split(","), Number);
}

Deno.test({
  name:
    "the page: a sideways phone photo (EXIF 6) and its upright twin give the server's own inputs and verdict",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await Deno.mkdir(OUT, { recursive: true });
    // One 6 photographed twice (same seed: same page, light and noise): stored
    // sideways with the EXIF tag that shows it upright, and stored upright.
    const digitJpeg = Deno.readFileSync(new URL("../data/robust/variant-6-0.jpg", import.meta.url));
    const shot = { width: 1600, height: 1200, seed: 3 };
    const files = {
      a: { name: "sideways.jpg", bytes: await phonePhoto(digitJpeg, { ...shot, orientation: 6 }) },
      b: { name: "upright.jpg", bytes: await phonePhoto(digitJpeg, { ...shot, orientation: 1 }) },
    };
    const { child, base } = await spawnServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
      await page.goto(base);
      for (const [panel, f] of Object.entries(files)) {
        await page.setInputFiles(`#${panel}-file`, {
          name: f.name,
          mimeType: "image/jpeg",
          buffer: Buffer.from(f.bytes),
        });
      }
      await inputsChanged(page, ["", ""]);
      const shown = await settled(page, 0); // server mode, the page's default
      await page.screenshot({ path: `${OUT}phone-photos.png` });

      for (const [panel, f] of Object.entries(files) as ["a" | "b", typeof files.a][]) {
        const server = toMnist(await decodeImage(f.bytes, panel), panel);
        const diff = meanAbsDiff(await pageInput(page, panel), server);
        console.log(`${f.name}: mean |page - server| input = ${diff.toFixed(5)}`);
        assert(diff <= 0.02, `${f.name}: the page's input is ${diff.toFixed(4)} from the server's (> 0.02)`);
      }

      // The same two files as the API's users send them (curl -F a=@... -F b=@...).
      const form = new FormData();
      for (const [panel, f] of Object.entries(files)) {
        form.append(panel, new Blob([new Uint8Array(f.bytes)], { type: "image/jpeg" }), f.name);
      }
      const r = await fetch(`${base}/verify`, { method: "POST", body: form });
      const api = await r.json();
      assert(r.ok, JSON.stringify(api));
      console.log(`p(same): page ${shown.p.toFixed(4)}, multipart ${api.probability.toFixed(4)}`);
      assertEquals(
        shown.verdict,
        api.same ? "same" : "different",
        `page p=${shown.p}, API p=${api.probability}`,
      );
      assertEquals(shown.verdict, "same", `sideways vs upright 6: p=${shown.p}`);

      // A file this browser cannot decode (HEIC in Chromium) says so in its panel.
      await page.setInputFiles("#b-file", {
        name: "seven.heic",
        mimeType: "image/heic",
        buffer: Buffer.from(Deno.readFileSync(new URL("images/seven.heic", import.meta.url))),
      });
      const note = page.locator("#b-error");
      await note.waitFor({ state: "visible", timeout: 15000 });
      const text = (await note.textContent())!;
      assert(/cannot read seven\.heic/.test(text) && text.includes("curl -F a=@seven.heic"), text);
      assertEquals(await page.locator("#b-input").getAttribute("data-input"), null);
      await page.screenshot({ path: `${OUT}unreadable-heic.png` });
    } finally {
      await browser.close();
      child.kill("SIGTERM");
      await child.status;
    }
  },
});

Deno.test("edge/page/app.js is the current bundle of edge/page/app.ts (run `deno task build:page`)", async () => {
  const tmp = await Deno.makeTempFile({ suffix: ".js" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "--external",
        "@tensorflow/tfjs",
        "-o",
        tmp,
        "edge/page/app.ts",
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const committed = await Deno.readTextFile(new URL("../edge/page/app.js", import.meta.url));
    assert(
      committed === (await Deno.readTextFile(tmp)),
      "edge/page/app.js is stale: run `deno task build:page`",
    );
  } finally {
    await Deno.remove(tmp);
  }
});

/// <reference lib="dom" />
// The demo page in a real browser (Debian's Chromium via playwright-core),
// served by the real edge: draw digits with pointer events, read the verdict,
// drop images, and check that server and in-browser inference agree.
// Screenshots go to out/screens/. Skipped, saying so, when no Chromium exists.
import { chromium, type Page } from "playwright-core";
import { Buffer } from "node:buffer";
import { digit, digitPng, loadDataset } from "../train/mnist.ts";
import { spawnServer } from "../edge/spawn.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium) {
  console.warn(`page_test: ${CHROMIUM} not found, browser tests skipped (apt-get install chromium)`);
}
const OUT = new URL("../out/screens/", import.meta.url).pathname;

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

/** The first verdict answered after answer number `after`. */
async function verdict(page: Page, after: number) {
  await page.waitForFunction(
    (after) => {
      const out = document.getElementById("verdict")!;
      return (out.dataset.verdict === "same" || out.dataset.verdict === "different") &&
        Number(out.dataset.answers ?? 0) > after;
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

/** The verdict once answers after number `after` have stopped coming for 400 ms. */
async function settled(page: Page, after: number) {
  let last = await verdict(page, after);
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const now = Number(await page.locator("#verdict").getAttribute("data-answers"));
    if (now === last.n) return last;
    last = await verdict(page, last.n);
  }
}

Deno.test({
  name: "the page: drawn 1 vs 7 is different, 1 vs 1 is same, dropped images agree on server and in browser",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await Deno.mkdir(OUT, { recursive: true });
    const { child, base } = await spawnServer();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
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
      await page.setInputFiles("#a-file", file(0));
      await page.setInputFiles("#b-file", file(17));
      // Each file updates the verdict on its own: wait until it stops changing.
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

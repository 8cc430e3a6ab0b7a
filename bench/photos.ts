// Phone photos, for `deno task bench:edge`: decode + preprocessing of a 12 MP
// phone JPEG, a 12 MP HEIC and a 640x480 JPEG, the service's decoders
// (shared/decode.ts) against the pure-JS ones (shared/decode_js.ts: jpeg-js,
// fast-png; the service's fallback where sharp cannot run) in the same run; then /verify
// p50 for a pair of each size on a fresh server, its peak RSS serving 12 MP
// pairs at concurrency 4, and the RSS change from decompression bombs.
import sharp from "sharp";
import { decodeImage, decoderBuild } from "../shared/decode.ts";
import { sniffFormat } from "../shared/format.ts";
import { decodeJs } from "../shared/decode_js.ts";
import { DEFAULT_IMAGE_LIMITS } from "../shared/image.ts";
import { toMnist } from "../shared/preprocess.ts";
import { phonePhoto } from "../tools/phone_photo.ts";
import { spawnServer } from "../edge/spawn.ts";
import { pairForm } from "./loadgen.ts";
import { rssMiB } from "./machine.ts";
import { median } from "./stats.ts";

type Fmt = (xs: number[]) => string;
const ROBUST = new URL("../data/robust/", import.meta.url).pathname;

async function time(n: number, f: () => Promise<unknown> | unknown): Promise<number[] | string> {
  const ts: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const t0 = performance.now();
    try {
      await f();
    } catch (e) {
      return `refused: ${(e as { code?: string }).code ?? ""} ${(e as Error).message}`;
    }
    if (i >= 2) ts.push(performance.now() - t0); // two warm-up runs
  }
  return ts;
}

/** Print the rows; `fmt` formats a list of milliseconds. */
export async function benchPhotos(fmt: Fmt) {
  const six = Deno.readFileSync(`${ROBUST}variant-6-0.jpg`),
    seven = Deno.readFileSync(`${ROBUST}stroke-7-0.jpg`);
  // Phone cameras save at quality ~95: a noisy 12 MP page is then ~3 MB.
  const phone = (src: Uint8Array, orientation: number, seed: number) =>
    phonePhoto(src, { orientation, seed, quality: 95 });
  const big = [await phone(six, 6, 1), await phone(seven, 1, 2)];
  // 640x480: the same photos as a messaging app sends them (turned upright, scaled, quality 85).
  const small = await Promise.all(
    big.map(async (b) =>
      new Uint8Array(await sharp(b).autoOrient().resize(640, 480).jpeg({ quality: 85 }).toBuffer())
    ),
  );
  const bigPng = new Uint8Array(await sharp(big[1]).png().toBuffer());
  const heic = Deno.readFileSync(`${ROBUST}phone-6-4.heic`);
  console.log(
    `phone photos: 12 MP JPEG ${(big[0].length / 2 ** 20).toFixed(1)} MiB (EXIF-rotated), 640x480 JPEG ${
      (small[0].length / 1024).toFixed(0)
    } KiB, 12 MP PNG ${(bigPng.length / 2 ** 20).toFixed(1)} MiB, 12 MP HEIC ${
      (heic.length / 1024).toFixed(0)
    } KiB; ` +
      `decoder: sharp ${sharp.versions.sharp} (${await decoderBuild()}), libvips ${sharp.versions.vips}`,
  );
  const rows: [string, Uint8Array, number][] = [
    ["640x480 JPEG", small[0], 100],
    ["12 MP JPEG", big[0], 20],
    ["12 MP PNG", bigPng, 5],
    ["12 MP HEIC", heic, 5],
  ];
  for (const [name, bytes, n] of rows) {
    const now = await time(n, async () => toMnist(await decodeImage(bytes, "x"), "x"));
    const old = name.includes("HEIC")
      ? "unsupported"
      : await time(n, () => toMnist(decodeJs(bytes, sniffFormat(bytes)!, "x", DEFAULT_IMAGE_LIMITS), "x"));
    const show = (r: number[] | string) => typeof r === "string" ? r : fmt(r);
    const ratio = typeof now !== "string" && typeof old !== "string"
      ? ` (${(median(old) / median(now)).toFixed(1)}x faster)`
      : "";
    console.log(`decode + preprocess, ${name}: sharp ${show(now)}${ratio}; jpeg-js/fast-png ${show(old)}`);
  }

  // A fresh server, so its peak RSS is this load's.
  const { child, base } = await spawnServer({ waitFor: "/readyz" });
  const rss = () => rssMiB(child.pid);
  // /proc/PID/status through grep: Deno reads /proc only with --allow-all.
  const hwm = async () => {
    const out = await new Deno.Command("grep", {
      args: ["VmHWM", `/proc/${child.pid}/status`],
      stdout: "piped",
    })
      .output();
    return Number(new TextDecoder().decode(out.stdout).match(/(\d+)/)![1]) / 1024;
  };
  const post = async (a: Uint8Array, b: Uint8Array, type = "image/jpeg") => {
    const r = await fetch(`${base}/verify`, { method: "POST", body: pairForm(a, b, type) });
    const body = await r.json();
    if (r.status !== 200 && r.status !== 413) throw new Error(`/verify: ${r.status} ${JSON.stringify(body)}`);
    return body;
  };
  try {
    const idle = await rss();
    const v = await post(big[0], big[1]);
    console.log(
      `/verify, 12 MP 6 (stored sideways) vs 12 MP 7: same=${v.same}, p=${v.probability.toFixed(4)}`,
    );
    for (const [name, pair, n] of [["640x480 JPEG", small, 100], ["12 MP JPEG", big, 30]] as const) {
      const ts = await time(n, () => post(pair[0], pair[1]));
      console.log(`concurrency 1, /verify with a pair of ${name}s: ${typeof ts === "string" ? ts : fmt(ts)}`);
    }
    // Concurrency 4, 12 MP pairs, RSS sampled while it runs.
    let sent = 0, peak = 0, sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rss());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (sent++ < 80) await post(big[sent % 2], big[(sent + 1) % 2]);
    }));
    const secs = (performance.now() - t0) / 1000;
    sampling = false;
    await sampler;
    console.log(
      `concurrency 4, 80 pairs of 12 MP JPEGs: ${(80 / secs).toFixed(1)} pairs/s; RSS idle ${
        idle.toFixed(0)
      } MiB, ` +
        `sampled peak ${peak.toFixed(0)} MiB, process peak (VmHWM) ${(await hwm()).toFixed(0)} MiB`,
    );
    const bomb = new Uint8Array(109);
    bomb.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(bomb.buffer).setUint32(16, 30000);
    new DataView(bomb.buffer).setUint32(20, 30000);
    const before = await rss(), hwmBefore = await hwm();
    for (let i = 0; i < 100; i++) await post(bomb, small[0], "image/png");
    console.log(
      `100 PNG bombs (109 bytes declaring 30000x30000), each 413: RSS ${before.toFixed(0)} -> ${
        (await rss()).toFixed(0)
      } MiB, peak ${hwmBefore.toFixed(0)} -> ${(await hwm()).toFixed(0)} MiB`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

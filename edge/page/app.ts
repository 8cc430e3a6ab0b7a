/// <reference lib="dom" />
// The demo page's script (bundled to edge/page/app.js by `deno task build:page`;
// TF.js comes from /vendor/ through the page's import map). Two panels take a
// drawn digit or a picked/dropped/camera image; each shows the 28x28 input the
// model receives (shared/preprocess.ts, the server's own code); the verdict
// comes from the server (POST /verify) or from the same quantized weights run
// here with stock TF.js.
import * as tf from "@tensorflow/tfjs";
import { PIXELS, SIDE as INPUT_SIDE, toMnist, WORK } from "../../shared/preprocess.ts";
import { loadArtifact } from "../../shared/artifact.ts";
import { foldBatchNorm, sigmoid } from "../../shared/model.ts";
import { createTfModel, pairLogits, type TfModel } from "../../shared/model_tf.ts";
import type { Gray } from "../../shared/image.ts";
import { rgbaToGray } from "../../shared/gray.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SIDE = 280;

interface Panel {
  canvas: HTMLCanvasElement;
  preview: HTMLCanvasElement;
  note: HTMLElement;
  input?: Float32Array;
  error?: string;
}

const toGray = (img: ImageData): Gray => rgbaToGray(img.data, img.width, img.height);

function showInput(p: Panel) {
  const ctx = p.preview.getContext("2d")!;
  const img = ctx.createImageData(INPUT_SIDE, INPUT_SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const v = Math.round(255 * (p.input?.[i] ?? 0));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  // The exact input, for tests that compare it with the server's (same file, same code).
  if (p.input) p.preview.dataset.input = Array.from(p.input, (v) => v.toFixed(4)).join(",");
  else delete p.preview.dataset.input;
  p.note.textContent = p.error ?? "";
  p.note.hidden = !p.error;
}

function update(p: Panel, source: Gray) {
  try {
    p.input = toMnist(source, p.canvas.id);
    p.error = undefined;
  } catch (e) {
    p.input = undefined;
    p.error = (e as Error).message;
  }
  showInput(p);
  scheduleVerify();
}

/** Blank the panel, saying why when `error` is given. */
function clear(p: Panel, error?: string) {
  const ctx = p.canvas.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE, SIDE);
  p.input = undefined;
  p.error = error;
  showInput(p);
  scheduleVerify();
}

function fromCanvas(p: Panel) {
  update(p, toGray(p.canvas.getContext("2d")!.getImageData(0, 0, SIDE, SIDE)));
}

/** Say in the panel that this browser cannot decode the file (HEIC in Chromium), which the server can. */
function unreadable(p: Panel, file: File) {
  const name = file.name || "this file";
  clear(
    p,
    `This browser cannot read ${name} (${file.type || "unknown type"}). The API accepts it: ` +
      `curl -F a=@${name} -F b=@other.jpg ${location.origin}/verify`,
  );
}

async function fromFile(p: Panel, file: File) {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file); // upright: applies EXIF orientation, as the server does
  } catch {
    return unreadable(p, file);
  }
  // Shrink to fit WORK x WORK (never enlarge), as the server's decoder does,
  // so the same file gives the same 28x28 input here and there.
  const scale = Math.min(1, WORK / Math.max(bmp.width, bmp.height));
  const w = Math.max(1, Math.round(bmp.width * scale)), h = Math.max(1, Math.round(bmp.height * scale));
  const off = new OffscreenCanvas(w, h).getContext("2d")!;
  // The default (low) quality samples a few source pixels per output pixel:
  // a 12 MP photo would lose thin strokes and keep sensor noise.
  off.imageSmoothingQuality = "high";
  off.drawImage(bmp, 0, 0, w, h);
  const ctx = p.canvas.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE, SIDE);
  const fit = Math.min(SIDE / w, SIDE / h);
  ctx.drawImage(bmp, (SIDE - w * fit) / 2, (SIDE - h * fit) / 2, w * fit, h * fit);
  bmp.close(); // a photo's bitmap holds its full-size pixels until collected
  update(p, toGray(off.getImageData(0, 0, w, h)));
}

/** Panel `id` ("a" or "b") from the page's template, with its ids and labels, added to the page. */
function mount(id: string, ordinal: string) {
  const panel = ($<HTMLTemplateElement>("panel")).content.firstElementChild!.cloneNode(true) as HTMLElement;
  const name = id.toUpperCase(), part = (sel: string) => panel.querySelector(sel)!;
  panel.setAttribute("aria-label", `${ordinal} digit`);
  part("h2").textContent = `Digit ${name}`;
  Object.assign(part("canvas.draw"), { id: `${id}-canvas` }).setAttribute(
    "aria-label",
    `Drawing area for digit ${name}`,
  );
  part("button").id = `${id}-clear`;
  part("input").id = `${id}-file`;
  const input = Object.assign(part("canvas.input") as HTMLCanvasElement, {
    id: `${id}-input`,
    width: INPUT_SIDE,
    height: INPUT_SIDE,
  });
  input.setAttribute("aria-label", `Model input ${name}`);
  part("p.error").id = `${id}-error`;
  $("panels").append(panel);
}

function setup(id: string): Panel {
  const p: Panel = { canvas: $(`${id}-canvas`), preview: $(`${id}-input`), note: $(`${id}-error`) };
  const ctx = p.canvas.getContext("2d", { willReadFrequently: true })!;
  clear(p);
  let last: [number, number] | undefined;
  const at = (e: PointerEvent): [number, number] => {
    const r = p.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * SIDE) / r.width, ((e.clientY - r.top) * SIDE) / r.height];
  };
  p.canvas.addEventListener("pointerdown", (e) => {
    p.canvas.setPointerCapture(e.pointerId);
    last = at(e);
  });
  p.canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const next = at(e);
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 20;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
    fromCanvas(p);
  });
  const end = () => {
    if (last) fromCanvas(p);
    last = undefined;
  };
  p.canvas.addEventListener("pointerup", end);
  p.canvas.addEventListener("pointercancel", end);
  $(`${id}-clear`).addEventListener("click", () => clear(p));
  const file = $<HTMLInputElement>(`${id}-file`);
  file.addEventListener("change", () => file.files?.[0] && fromFile(p, file.files[0]));
  p.canvas.addEventListener("dragover", (e) => e.preventDefault());
  p.canvas.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) fromFile(p, f);
  });
  return p;
}

let model: Promise<{ m: TfModel; threshold: number }> | undefined;
function browserModel() {
  model ??= (async () => {
    await tf.setBackend("cpu");
    // The weights at the URL their SHA-256 names, which the server marks immutable: a repeat visit keeps them.
    const text = await (await fetch("/weights/model.json")).text();
    const sha =
      Object.values(JSON.parse(text).userDefinedMetadata.files as Record<string, { sha256: string }>)[0]
        .sha256;
    const bin = await (await fetch(`/weights/${sha}.bin`)).arrayBuffer();
    const art = await loadArtifact(text, new Uint8Array(bin));
    return {
      m: createTfModel(foldBatchNorm(art.params, art.config), art.config),
      threshold: art.threshold,
    };
  })();
  return model;
}

async function score(a: Float32Array, b: Float32Array): Promise<{ probability: number; threshold: number }> {
  if ($<HTMLInputElement>("mode-browser").checked) {
    const { m, threshold } = await browserModel();
    const pair = new Float32Array(2 * PIXELS);
    pair.set(a, 0);
    pair.set(b, PIXELS);
    return { probability: sigmoid(pairLogits(m, pair)[0]), threshold };
  }
  // The server gets exactly the input shown here: pixels 0..255 as floats.
  const px = (x: Float32Array) => Array.from(x, (v) => v * 255);
  const r = await fetch("/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ a: px(a), b: px(b) }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body;
}

let pending = 0, answers = 0, timer: ReturnType<typeof setTimeout> | undefined;
function scheduleVerify() {
  clearTimeout(timer);
  timer = setTimeout(verify, 30);
  $("verdict").dataset.stale = ""; // the verdict shown is not yet for these inputs
}

/** The verdict shown is for the current inputs (no newer answer is due). */
function current(ticket: number) {
  if (ticket === pending && timer === undefined) delete $("verdict").dataset.stale;
}

async function verify() {
  const [a, b] = panels, out = $("verdict"), gauge = $("gauge-fill"), mark = $("gauge-threshold");
  const ticket = ++pending;
  timer = undefined;
  if (!a.input || !b.input) {
    out.textContent = a.error || b.error
      ? `No digit read in panel ${a.error ? "A" : "B"}: see its message`
      : "Draw or drop a digit in both panels";
    out.dataset.verdict = "";
    $("probability").textContent = $("latency").textContent = "";
    gauge.style.width = "0";
    current(ticket);
    return;
  }
  const t0 = performance.now();
  try {
    const { probability, threshold } = await score(a.input, b.input);
    if (ticket !== pending) return; // a newer drawing superseded this answer
    const same = probability > threshold;
    out.textContent = same ? "Same digit" : "Different digits";
    out.dataset.verdict = same ? "same" : "different";
    $("probability").textContent = `p(same) = ${probability.toFixed(4)} (threshold ${threshold.toFixed(3)})`;
    $("probability").dataset.value = String(probability);
    out.dataset.answers = String(++answers); // lets a test tell a new answer from an equal old one
    $("latency").textContent = `${(performance.now() - t0).toFixed(1)} ms`;
    gauge.style.width = `${(100 * probability).toFixed(1)}%`;
    gauge.className = same ? "same" : "different";
    mark.style.left = `${(100 * threshold).toFixed(1)}%`;
  } catch (e) {
    if (ticket !== pending) return;
    out.textContent = `Error: ${(e as Error).message}`;
    out.dataset.verdict = "error";
  }
  current(ticket);
}

mount("a", "First");
mount("b", "Second");
const panels = [setup("a"), setup("b")];
for (const id of ["mode-server", "mode-browser"]) $(id).addEventListener("change", scheduleVerify);

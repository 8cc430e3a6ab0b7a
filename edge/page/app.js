// edge/page/app.ts
import * as tf2 from "@tensorflow/tfjs";

// shared/errors.ts
var ClientError = class extends Error {
  code;
  constructor(code, message) {
    super(message), this.code = code;
    this.name = "ClientError";
  }
};

// shared/preprocess.ts
var SIDE = 28;
var PIXELS = SIDE * SIDE;
var BOX = 20;
var MIN_CONTRAST = 0.15;
var NOISE = 0.2;
var SPECK = 0.02;
var WORK = 320;
var PEN = 0.12;
var GRID = 4;
var pool = /* @__PURE__ */ new Map();
function scratch(name, kind, n) {
  let b = pool.get(name);
  if (!b || b.byteLength < n * kind.BYTES_PER_ELEMENT) {
    pool.set(name, b = new ArrayBuffer(n * kind.BYTES_PER_ELEMENT));
  }
  return new kind(b, 0, n);
}
function toMnist(img, name) {
  if (img.width === SIDE && img.height === SIDE) {
    const border2 = borderMedian(img);
    if (border2 <= 0.5) {
      if (max(img.data) - border2 < MIN_CONTRAST) throw blank(name);
      return Float32Array.from(img.data);
    }
  }
  if (Math.max(img.width, img.height) > WORK) img = shrink(img, WORK);
  const { width: w, height: h } = img;
  const border = borderMedian(img);
  const invert = border > 0.5;
  const ink = inkAbovePaper(img, border, invert);
  const peak = max(ink);
  if (peak < MIN_CONTRAST) throw blank(name);
  const small = Math.min(w, h) < 32;
  const mean2 = small ? scratch("mean", Float32Array, ink.length) : boxBlur3(ink, w, h);
  if (small) mean2.set(ink);
  const meanPeak = max(mean2);
  const norm = mean2;
  for (let i = 0; i < ink.length; i++) {
    const v = ink[i] / peak;
    norm[i] = v >= NOISE && mean2[i] >= NOISE * meanPeak ? v : 0;
  }
  let [x0, y0, x1, y1] = dropSpecks(norm, w, h);
  if (x1 < 0) throw blank(name);
  const pen = PEN * Math.max(x1 - x0 + 1, y1 - y0 + 1), width = strokeWidth(norm, w, x0, y0, x1, y1);
  const r = width < pen ? Math.round((pen - width) / 2) : 0;
  if (r > 0) {
    [x0, y0, x1, y1] = [
      Math.max(0, x0 - r),
      Math.max(0, y0 - r),
      Math.min(w - 1, x1 + r),
      Math.min(h - 1, y1 + r)
    ];
    dilate(norm, w, x0, y0, x1, y1, r);
  }
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale)), th = Math.max(1, Math.round(bh * scale));
  const patch = resampleArea(norm, w, x0, y0, bw, bh, tw, th);
  return centreByMass(patch, tw, th);
}
function inkAbovePaper({ width: w, height: h, data }, border, invert) {
  const sign = invert ? -1 : 1, out = scratch("ink", Float32Array, w * h);
  const g = Math.min(GRID, Math.floor(Math.min(w, h) / 32));
  if (g < 2) {
    for (let i = 0; i < out.length; i++) out[i] = Math.max(0, sign * (data[i] - border));
    return out;
  }
  const level = new Float32Array(g * g), hist = new Uint32Array(g * g * 256), count = new Uint32Array(g * g);
  const col = Int32Array.from({
    length: w
  }, (_, x) => Math.floor(x * g / w) * 256);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y * g / h) * g * 256;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const v = sign * data[i];
      hist[row + col[x] + (((v > 1 ? 1 : v < -1 ? -1 : v) + 1) * 127.5 + 0.5 | 0)]++;
    }
  }
  for (let b = 0; b < g * g; b++) {
    for (let k = 0; k < 256; k++) count[b] += hist[b * 256 + k];
  }
  for (let b = 0; b < g * g; b++) {
    for (let k = 0, seen = 0; k < 256; k++) {
      seen += hist[b * 256 + k];
      if (seen >= 0.25 * count[b]) {
        level[b] = k / 127.5 - 1;
        break;
      }
    }
  }
  const paper = new Float32Array(g * g), near = [];
  for (let by = 0; by < g; by++) {
    for (let bx = 0; bx < g; bx++) {
      near.length = 0;
      for (let j = Math.max(0, by - 1); j <= Math.min(g - 1, by + 1); j++) {
        for (let i = Math.max(0, bx - 1); i <= Math.min(g - 1, bx + 1); i++) near.push(level[j * g + i]);
      }
      near.sort((p, q) => p - q);
      const own = level[by * g + bx], med = near[near.length - 1 >> 1];
      paper[by * g + bx] = own - med > MIN_CONTRAST ? med : own;
    }
  }
  const lines = new Float32Array(g * w);
  for (let x = 0; x < w; x++) {
    const fx = (x + 0.5) * g / w - 0.5, i0 = Math.min(g - 2, Math.max(0, Math.floor(fx))), tx = fx - i0;
    for (let j = 0; j < g; j++) lines[j * w + x] = (1 - tx) * paper[j * g + i0] + tx * paper[j * g + i0 + 1];
  }
  for (let y = 0; y < h; y++) {
    const fy = (y + 0.5) * g / h - 0.5, j0 = Math.min(g - 2, Math.max(0, Math.floor(fy))), ty = fy - j0;
    const a = j0 * w, b = a + w;
    for (let x = 0, i = y * w; x < w; x++, i++) {
      const v = sign * data[i] - ((1 - ty) * lines[a + x] + ty * lines[b + x]);
      out[i] = v > 0 ? v : 0;
    }
  }
  return out;
}
function boxBlur3(a, w, h) {
  const out = scratch("mean", Float32Array, a.length), third = 1 / 3;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    out[r] = (2 * a[r] + a[r + 1]) * third;
    for (let i = r + 1; i < r + w - 1; i++) out[i] = (a[i - 1] + a[i] + a[i + 1]) * third;
    out[r + w - 1] = (a[r + w - 2] + 2 * a[r + w - 1]) * third;
  }
  const prev = out.slice(0, w), cur = new Float32Array(w);
  for (let y = 0; y < h; y++) {
    const r = y * w, next = y < h - 1 ? r + w : r;
    cur.set(out.subarray(r, r + w));
    for (let x = 0; x < w; x++) out[r + x] = (prev[x] + cur[x] + out[next + x]) * third;
    prev.set(cur);
  }
  return out;
}
function strokeWidth(a, w, x0, y0, x1, y1) {
  let area = 0, edge = 0;
  const on = (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1 && a[y * w + x] >= 0.5;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!on(x, y)) continue;
      area++;
      if (!on(x - 1, y) || !on(x + 1, y) || !on(x, y - 1) || !on(x, y + 1)) edge++;
    }
  }
  return edge ? 2 * area / edge : 0;
}
function dropSpecks(a, w, h) {
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) count++;
  const seen = scratch("seen", Uint8Array, a.length).fill(0);
  const stack = scratch("stack", Int32Array, count), members = scratch("members", Int32Array, count);
  const pieces = [];
  let total = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    if (seen[i] || a[i] === 0) continue;
    const start = n;
    let top = 0, mass = 0;
    stack[top++] = i;
    seen[i] = 1;
    while (top > 0) {
      const j = stack[--top], x = j % w, y = (j - x) / w;
      members[n++] = j;
      mass += a[j];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx, yy = y + dy, k = yy * w + xx;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h || seen[k] || a[k] === 0) continue;
          seen[k] = 1;
          stack[top++] = k;
        }
      }
    }
    pieces.push({
      start,
      end: n,
      mass
    });
    total += mass;
  }
  let x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (const p of pieces) {
    const keep = p.mass >= SPECK * total;
    for (let m = p.start; m < p.end; m++) {
      const j = members[m];
      if (!keep) {
        a[j] = 0;
        continue;
      }
      const x = j % w, y = (j - x) / w;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return [
    x0,
    y0,
    x1,
    y1
  ];
}
function dilate(a, w, x0, y0, x1, y1, r) {
  const line = new Float32Array(Math.max(x1 - x0, y1 - y0) + 1);
  const pass = (n, at) => {
    for (let k = 0; k < n; k++) line[k] = a[at(k)];
    const q = new Int32Array(n);
    let head = 0, tail = 0;
    for (let k = 0, next = 0; k < n; k++) {
      for (; next < n && next <= k + r; next++) {
        while (tail > head && line[q[tail - 1]] <= line[next]) tail--;
        q[tail++] = next;
      }
      while (q[head] < k - r) head++;
      a[at(k)] = line[q[head]];
    }
  };
  for (let y = y0; y <= y1; y++) pass(x1 - x0 + 1, (k) => y * w + x0 + k);
  for (let x = x0; x <= x1; x++) pass(y1 - y0 + 1, (k) => (y0 + k) * w + x);
}
function shrink(img, side) {
  const f = Math.min(Math.floor(Math.max(img.width, img.height) / side), img.width, img.height);
  let { width: w, height: h, data } = img;
  if (f >= 2) {
    const bw = Math.floor(w / f), bh = Math.floor(h / f), out = scratch("blocks", Float32Array, bw * bh);
    out.fill(0);
    for (let y = 0; y < bh * f; y++) {
      const r = (y / f | 0) * bw;
      for (let x = 0, i = y * w; x < bw * f; x++, i++) out[r + (x / f | 0)] += data[i];
    }
    const k = 1 / (f * f);
    for (let i = 0; i < out.length; i++) out[i] *= k;
    [w, h, data] = [
      bw,
      bh,
      out
    ];
  }
  if (Math.max(w, h) <= side) return {
    width: w,
    height: h,
    data
  };
  const s = side / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * s)), th = Math.max(1, Math.round(h * s));
  return {
    width: tw,
    height: th,
    data: resampleArea(data, w, 0, 0, w, h, tw, th, scratch("shrink", Float32Array, tw * th))
  };
}
function blank(name) {
  return new ClientError("blank_image", `Cannot read a digit in image "${name}": it has no ink (blank or uniform)`);
}
function max(a) {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}
function borderMedian({ width: w, height: h, data }) {
  const m = Math.max(1, Math.floor(Math.min(w, h) * 0.05));
  const bins = new Uint32Array(1025);
  let n = 0;
  const add2 = (i) => {
    bins[Math.round(Math.min(1, Math.max(0, data[i])) * 1024)]++;
    n++;
  };
  for (let y = 0; y < h; y++) {
    if (y < m || y >= h - m) {
      for (let x = 0; x < w; x++) add2(y * w + x);
    } else {
      for (let x = 0; x < Math.min(m, w); x++) add2(y * w + x);
      for (let x = Math.max(m, w - m); x < w; x++) add2(y * w + x);
    }
  }
  for (let b = 0, seen = 0; b < bins.length; b++) {
    seen += bins[b];
    if (seen > n / 2) return b / 1024;
  }
  return 1;
}
function resampleArea(src, w, x0, y0, bw, bh, tw, th, out = new Float32Array(tw * th)) {
  const sx = bw / tw, sy = bh / th;
  for (let oy = 0; oy < th; oy++) {
    const fy0 = oy * sy, fy1 = fy0 + sy;
    for (let ox = 0; ox < tw; ox++) {
      const fx0 = ox * sx, fx1 = fx0 + sx;
      let acc = 0;
      for (let y = Math.floor(fy0); y < Math.min(bh, Math.ceil(fy1)); y++) {
        const wy = Math.min(fy1, y + 1) - Math.max(fy0, y);
        for (let x = Math.floor(fx0); x < Math.min(bw, Math.ceil(fx1)); x++) {
          const wx = Math.min(fx1, x + 1) - Math.max(fx0, x);
          acc += wx * wy * src[(y0 + y) * w + x0 + x];
        }
      }
      out[oy * tw + ox] = acc / (sx * sy);
    }
  }
  return out;
}
function centreByMass(patch, tw, th) {
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = patch[y * tw + x];
      m += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const dx = Math.round(SIDE / 2 - mx / m), dy = Math.round(SIDE / 2 - my / m);
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < th; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= SIDE) continue;
    for (let x = 0; x < tw; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < SIDE) out[ty * SIDE + tx] = patch[y * tw + x];
    }
  }
  return out;
}

// shared/config.ts
function checkModelConfig(c) {
  for (const k of [
    "inputSize",
    "conv1",
    "conv2",
    "embedding"
  ]) {
    if (!Number.isInteger(c[k]) || c[k] < 1) {
      throw new Error(`Invalid model config: ${k} = ${JSON.stringify(c[k])} is not a positive integer`);
    }
  }
  if (c.classes !== void 0 && !(Number.isInteger(c.classes) && c.classes >= 0)) {
    throw new Error(`Invalid model config: classes = ${JSON.stringify(c.classes)} is not an integer >= 0`);
  }
  if (c.inputSize % 4 !== 0) {
    throw new Error(`Invalid model config: inputSize = ${c.inputSize} must be divisible by 4`);
  }
  if (!(c.bnEpsilon > 0) || !(c.bnMomentum > 0 && c.bnMomentum <= 1)) {
    throw new Error(`Invalid model config: bnEpsilon/bnMomentum out of range`);
  }
  return c;
}

// shared/params.ts
function bn(layer, c) {
  return [
    {
      name: `${layer}/gamma`,
      shape: [
        c
      ],
      trainable: true,
      layer,
      init: "ones"
    },
    {
      name: `${layer}/beta`,
      shape: [
        c
      ],
      trainable: true,
      layer,
      init: "zeros"
    },
    {
      name: `${layer}/moving_mean`,
      shape: [
        c
      ],
      trainable: false,
      layer,
      init: "zeros"
    },
    {
      name: `${layer}/moving_variance`,
      shape: [
        c
      ],
      trainable: false,
      layer,
      init: "ones"
    }
  ];
}
function dense(layer, shape, init) {
  const out = shape[shape.length - 1];
  return [
    {
      name: `${layer}/kernel`,
      shape,
      trainable: true,
      layer,
      init
    },
    {
      name: `${layer}/bias`,
      shape: [
        out
      ],
      trainable: true,
      layer,
      init: "zeros"
    }
  ];
}
function tiedHead(classes) {
  return [
    {
      name: "head/kernel",
      shape: [
        classes,
        1
      ],
      trainable: true,
      layer: "head",
      init: "const",
      value: -3
    },
    {
      name: "head/bias",
      shape: [
        1
      ],
      trainable: true,
      layer: "head",
      init: "const",
      value: 3
    }
  ];
}
function paramSpecs(c) {
  const flat = (c.inputSize / 4) ** 2 * c.conv2;
  return [
    ...dense("conv1", [
      3,
      3,
      1,
      c.conv1
    ], "kaiming"),
    ...bn("bn1", c.conv1),
    ...dense("conv2", [
      3,
      3,
      c.conv1,
      c.conv2
    ], "kaiming"),
    ...bn("bn2", c.conv2),
    ...dense("fc", [
      flat,
      c.embedding
    ], "xavier"),
    ...bn("bn3", c.embedding),
    ...c.classes ? dense("cls", [
      c.embedding,
      c.classes
    ], "xavier") : [],
    ...c.classes ? tiedHead(c.classes) : dense("head", [
      c.embedding,
      1
    ], "xavier")
  ];
}

// shared/weights.ts
function entryBytes(e) {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const q = e.quantization?.dtype;
  return n * (q === "uint8" ? 1 : q === "uint16" || q === "float16" ? 2 : 4);
}
function fromFloat16(h) {
  const sign = h & 32768 ? -1 : 1, exp = h >> 10 & 31, frac = h & 1023;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
function decodeWeights(data, entries) {
  const want = entries.reduce((a, e) => a + entryBytes(e), 0);
  if (data.length !== want) {
    throw new Error(`Cannot decode weights: ${data.length} bytes, manifest needs ${want}`);
  }
  const out = {};
  let o = 0;
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1), q = e.quantization;
    const bytes = q?.dtype === "uint8" ? data.subarray(o, o + entryBytes(e)) : data.slice(o, o + entryBytes(e));
    o += bytes.length;
    let values;
    if (!q) values = new Float32Array(bytes.buffer);
    else if (q.dtype === "uint8") {
      const table = new Float32Array(256);
      for (let c = 0; c < 256; c++) table[c] = c * q.scale + q.min;
      values = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) values[i] = table[bytes[i]];
    } else {
      const codes = new Uint16Array(bytes.buffer);
      values = new Float32Array(codes.length);
      if (q.dtype === "float16") {
        for (let i = 0; i < codes.length; i++) values[i] = fromFloat16(codes[i]);
      } else for (let i = 0; i < codes.length; i++) values[i] = codes[i] * q.scale + q.min;
    }
    if (values.length !== n) throw new Error(`Cannot decode weights: ${e.name} has ${values.length} values`);
    out[e.name] = {
      shape: e.shape.slice(),
      values
    };
  }
  return out;
}
async function sha256Hex(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

// shared/artifact.ts
var ArtifactError = class extends Error {
  constructor(message) {
    super(message);
    this.name = "ArtifactError";
  }
};
async function loadArtifact(modelJsonText, bin) {
  let m;
  try {
    m = JSON.parse(modelJsonText);
  } catch (e) {
    throw new ArtifactError(`Cannot read model.json: ${e.message}`);
  }
  const meta = m?.userDefinedMetadata;
  const group = m?.weightsManifest?.[0];
  if (m?.format !== "siamese-weights" || !meta?.config || !group || m.weightsManifest.length !== 1) {
    throw new ArtifactError(`Cannot read model.json: not a siamese-weights manifest`);
  }
  const config = checkModelConfig(meta.config);
  if (!(meta.threshold >= 0 && meta.threshold <= 1)) {
    throw new ArtifactError(`Cannot read model.json: threshold ${meta.threshold} is not in 0..1`);
  }
  const file = meta.files?.[group.paths[0]];
  if (!file) throw new ArtifactError(`Cannot read model.json: no hash for "${group.paths[0]}"`);
  const want = group.weights.reduce((a, e) => a + entryBytes(e), 0);
  if (bin.length !== file.bytes || bin.length !== want) {
    throw new ArtifactError(`Refusing weights "${group.paths[0]}": ${bin.length} bytes, manifest says ${file.bytes} (entries need ${want})`);
  }
  const sha = await sha256Hex(bin);
  if (sha !== file.sha256) {
    throw new ArtifactError(`Refusing weights "${group.paths[0]}": SHA-256 ${sha} is not ${file.sha256}`);
  }
  const expected = paramSpecs(config);
  const names = group.weights.map((w) => w.name);
  for (const s of expected) {
    const e = group.weights.find((w) => w.name === s.name);
    if (!e || e.shape.join() !== s.shape.join()) {
      throw new ArtifactError(`Refusing weights: "${s.name}" missing or not of shape [${s.shape}]`);
    }
  }
  if (names.length !== expected.length) {
    throw new ArtifactError(`Refusing weights: ${names.length} entries, config needs ${expected.length}`);
  }
  return {
    config,
    threshold: meta.threshold,
    sha256: sha,
    params: decodeWeights(bin, group.weights),
    modelJson: m
  };
}

// shared/model.ts
function tower(ex, c, x) {
  const h = ex.convBlock(ex.convBlock(x, "conv1", "bn1"), "conv2", "bn2");
  const e = ex.denseBlock(h, "fc", "bn3");
  if (!c.classes) return {
    embedding: e
  };
  const classLogits = ex.dense(e, "cls");
  return {
    embedding: ex.softmax(classLogits),
    classLogits
  };
}
function forward(ex, c, x) {
  const { embedding, classLogits } = tower(ex, c, x);
  return {
    logits: ex.head(embedding),
    classLogits
  };
}
var NORMALIZED = [
  [
    "conv1",
    "bn1"
  ],
  [
    "conv2",
    "bn2"
  ],
  [
    "fc",
    "bn3"
  ]
];
function bnFolds(p, c) {
  const fold = ([layer, bn2]) => {
    const b = p[`${layer}/bias`].values, g = p[`${bn2}/gamma`].values, beta = p[`${bn2}/beta`].values;
    const mean2 = p[`${bn2}/moving_mean`].values, v = p[`${bn2}/moving_variance`].values;
    const scale = g.map((gi, i) => gi / Math.sqrt(v[i] + c.bnEpsilon));
    return {
      scale,
      bias: b.map((bi, i) => (bi - mean2[i]) * scale[i] + beta[i])
    };
  };
  return {
    conv1: fold(NORMALIZED[0]),
    conv2: fold(NORMALIZED[1]),
    fc: fold(NORMALIZED[2])
  };
}
function foldBatchNorm(p, c) {
  const out = {}, folds = bnFolds(p, c);
  for (const [layer] of NORMALIZED) {
    const k = p[`${layer}/kernel`], { scale, bias } = folds[layer], co = scale.length;
    const kv = k.values.slice();
    for (let i = 0; i < kv.length; i += co) for (let j = 0; j < co; j++) kv[i + j] *= scale[j];
    out[`${layer}/kernel`] = {
      shape: k.shape,
      values: kv
    };
    out[`${layer}/bias`] = {
      shape: [
        co
      ],
      values: bias
    };
  }
  for (const layer of c.classes ? [
    "cls",
    "head"
  ] : [
    "head"
  ]) {
    out[`${layer}/kernel`] = p[`${layer}/kernel`];
    out[`${layer}/bias`] = p[`${layer}/bias`];
  }
  return out;
}
function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

// shared/model_tf.ts
import * as tf from "@tensorflow/tfjs";
function tfExecutor(w, opts = {}) {
  const { norm, tieHead } = opts;
  const pool2 = (x) => tf.maxPool(x, 2, 2, "valid");
  return {
    convBlock(x, conv, bn2) {
      const filter = w[`${conv}/kernel`], bias = w[`${conv}/bias`];
      if (norm) return norm(tf.conv2d(x, filter, 1, "same"), bn2, bias, true);
      return pool2(tf.fused.conv2d({
        x,
        filter,
        strides: 1,
        pad: "same",
        bias,
        activation: "relu"
      }));
    },
    denseBlock(x, dense2, bn2) {
      const flat = tf.reshape(x, [
        x.shape[0],
        -1
      ]);
      const b = w[`${dense2}/kernel`], bias = w[`${dense2}/bias`];
      if (norm) return norm(tf.matMul(flat, b), bn2, bias, false);
      return tf.fused.matMul({
        a: flat,
        b,
        bias,
        activation: "relu"
      });
    },
    dense: (x, dense2) => tf.fused.matMul({
      a: x,
      b: w[`${dense2}/kernel`],
      bias: w[`${dense2}/bias`]
    }),
    softmax: (x) => tf.softmax(x),
    head(e) {
      const [e1, e2] = tf.split(e, 2, 0);
      const k = w["head/kernel"];
      const kernel = tieHead ? tf.mul(tf.onesLike(k), tf.mean(k)) : k;
      const z = tf.fused.matMul({
        a: tf.abs(tf.sub(e1, e2)),
        b: kernel,
        bias: w["head/bias"]
      });
      return tf.reshape(z, [
        -1
      ]);
    }
  };
}
function createTfModel(params, config) {
  const w = {};
  for (const [name, { shape, values }] of Object.entries(params)) w[name] = tf.tensor(values, shape);
  return {
    config,
    w,
    dispose: () => Object.values(w).forEach((t) => t.dispose())
  };
}
function pairLogits(m, batch, opts) {
  const s = m.config.inputSize, n = batch.length / (s * s);
  if (!Number.isInteger(n / 2)) throw new Error(`Cannot score pairs: ${n} images is not an even count`);
  const t = tf.tidy(() => forward(tfExecutor(m.w, opts), m.config, tf.tensor4d(batch, [
    n,
    s,
    s,
    1
  ])).logits);
  const out = t.dataSync();
  t.dispose();
  return out;
}

// shared/gray.ts
function rgbaToGray(d, width, height) {
  const out = new Float32Array(width * height), k = 1 / (255 * 255);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) {
    const a = d[j + 3];
    out[i] = (a * (0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2]) + (255 - a) * 255) * k;
  }
  return {
    width,
    height,
    data: out
  };
}

// edge/page/app.ts
var $ = (id) => document.getElementById(id);
var SIDE2 = 280;
var toGray = (img) => rgbaToGray(img.data, img.width, img.height);
function showInput(p) {
  const ctx = p.preview.getContext("2d");
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const v = Math.round(255 * (p.input?.[i] ?? 0));
    img.data.set([
      v,
      v,
      v,
      255
    ], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  if (p.input) p.preview.dataset.input = Array.from(p.input, (v) => v.toFixed(4)).join(",");
  else delete p.preview.dataset.input;
  p.note.textContent = p.error ?? "";
  p.note.hidden = !p.error;
}
function update(p, source) {
  try {
    p.input = toMnist(source, p.canvas.id);
    p.error = void 0;
  } catch (e) {
    p.input = void 0;
    p.error = e.message;
  }
  showInput(p);
  scheduleVerify();
}
function clear(p, error) {
  const ctx = p.canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE2, SIDE2);
  p.input = void 0;
  p.error = error;
  showInput(p);
  scheduleVerify();
}
function fromCanvas(p) {
  update(p, toGray(p.canvas.getContext("2d").getImageData(0, 0, SIDE2, SIDE2)));
}
function unreadable(p, file) {
  const name = file.name || "this file";
  clear(p, `This browser cannot read ${name} (${file.type || "unknown type"}). The API accepts it: curl -F a=@${name} -F b=@other.jpg ${location.origin}/verify`);
}
async function fromFile(p, file) {
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    return unreadable(p, file);
  }
  const scale = Math.min(1, WORK / Math.max(bmp.width, bmp.height));
  const w = Math.max(1, Math.round(bmp.width * scale)), h = Math.max(1, Math.round(bmp.height * scale));
  const off = new OffscreenCanvas(w, h).getContext("2d");
  off.imageSmoothingQuality = "high";
  off.drawImage(bmp, 0, 0, w, h);
  const ctx = p.canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIDE2, SIDE2);
  const fit = Math.min(SIDE2 / w, SIDE2 / h);
  ctx.drawImage(bmp, (SIDE2 - w * fit) / 2, (SIDE2 - h * fit) / 2, w * fit, h * fit);
  bmp.close();
  update(p, toGray(off.getImageData(0, 0, w, h)));
}
function mount(id, ordinal) {
  const panel = $("panel").content.firstElementChild.cloneNode(true);
  const name = id.toUpperCase(), part = (sel) => panel.querySelector(sel);
  panel.setAttribute("aria-label", `${ordinal} digit`);
  part("h2").textContent = `Digit ${name}`;
  Object.assign(part("canvas.draw"), {
    id: `${id}-canvas`
  }).setAttribute("aria-label", `Drawing area for digit ${name}`);
  part("button").id = `${id}-clear`;
  part("input").id = `${id}-file`;
  const input = Object.assign(part("canvas.input"), {
    id: `${id}-input`,
    width: SIDE,
    height: SIDE
  });
  input.setAttribute("aria-label", `Model input ${name}`);
  part("p.error").id = `${id}-error`;
  $("panels").append(panel);
}
function setup(id) {
  const p = {
    canvas: $(`${id}-canvas`),
    preview: $(`${id}-input`),
    note: $(`${id}-error`)
  };
  const ctx = p.canvas.getContext("2d", {
    willReadFrequently: true
  });
  clear(p);
  let last;
  const at = (e) => {
    const r = p.canvas.getBoundingClientRect();
    return [
      (e.clientX - r.left) * SIDE2 / r.width,
      (e.clientY - r.top) * SIDE2 / r.height
    ];
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
    last = void 0;
  };
  p.canvas.addEventListener("pointerup", end);
  p.canvas.addEventListener("pointercancel", end);
  $(`${id}-clear`).addEventListener("click", () => clear(p));
  const file = $(`${id}-file`);
  file.addEventListener("change", () => file.files?.[0] && fromFile(p, file.files[0]));
  p.canvas.addEventListener("dragover", (e) => e.preventDefault());
  p.canvas.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) fromFile(p, f);
  });
  return p;
}
var model;
function browserModel() {
  model ??= (async () => {
    await tf2.setBackend("cpu");
    const text = await (await fetch("/weights/model.json")).text();
    const sha = Object.values(JSON.parse(text).userDefinedMetadata.files)[0].sha256;
    const bin = await (await fetch(`/weights/${sha}.bin`)).arrayBuffer();
    const art = await loadArtifact(text, new Uint8Array(bin));
    return {
      m: createTfModel(foldBatchNorm(art.params, art.config), art.config),
      threshold: art.threshold
    };
  })();
  return model;
}
async function score(a, b) {
  if ($("mode-browser").checked) {
    const { m, threshold } = await browserModel();
    const pair = new Float32Array(2 * PIXELS);
    pair.set(a, 0);
    pair.set(b, PIXELS);
    return {
      probability: sigmoid(pairLogits(m, pair)[0]),
      threshold
    };
  }
  const px = (x) => Array.from(x, (v) => v * 255);
  const r = await fetch("/verify", {
    method: "POST",
    headers: {
      "content-type": "application/json"
    },
    body: JSON.stringify({
      a: px(a),
      b: px(b)
    })
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body;
}
var pending = 0;
var answers = 0;
var timer;
function scheduleVerify() {
  clearTimeout(timer);
  timer = setTimeout(verify, 30);
  $("verdict").dataset.stale = "";
}
function current(ticket) {
  if (ticket === pending && timer === void 0) delete $("verdict").dataset.stale;
}
async function verify() {
  const [a, b] = panels, out = $("verdict"), gauge = $("gauge-fill"), mark = $("gauge-threshold");
  const ticket = ++pending;
  timer = void 0;
  if (!a.input || !b.input) {
    out.textContent = a.error || b.error ? `No digit read in panel ${a.error ? "A" : "B"}: see its message` : "Draw or drop a digit in both panels";
    out.dataset.verdict = "";
    $("probability").textContent = $("latency").textContent = "";
    gauge.style.width = "0";
    current(ticket);
    return;
  }
  const t0 = performance.now();
  try {
    const { probability, threshold } = await score(a.input, b.input);
    if (ticket !== pending) return;
    const same = probability > threshold;
    out.textContent = same ? "Same digit" : "Different digits";
    out.dataset.verdict = same ? "same" : "different";
    $("probability").textContent = `p(same) = ${probability.toFixed(4)} (threshold ${threshold.toFixed(3)})`;
    $("probability").dataset.value = String(probability);
    out.dataset.answers = String(++answers);
    $("latency").textContent = `${(performance.now() - t0).toFixed(1)} ms`;
    gauge.style.width = `${(100 * probability).toFixed(1)}%`;
    gauge.className = same ? "same" : "different";
    mark.style.left = `${(100 * threshold).toFixed(1)}%`;
  } catch (e) {
    if (ticket !== pending) return;
    out.textContent = `Error: ${e.message}`;
    out.dataset.verdict = "error";
  }
  current(ticket);
}
mount("a", "First");
mount("b", "Second");
var panels = [
  setup("a"),
  setup("b")
];
for (const id of [
  "mode-server",
  "mode-browser"
]) $(id).addEventListener("change", scheduleVerify);

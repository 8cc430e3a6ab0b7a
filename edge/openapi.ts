// OpenAPI 3.1 description of the service, served at GET /openapi.json.
import { ERROR_STATUS } from "../shared/errors.ts";
import { SIDE } from "../shared/preprocess.ts";
const image = {
  oneOf: [
    {
      type: "string",
      description:
        "base64 image (JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or HEIC; EXIF orientation applied), " +
        "or a data:image/...;base64 URL",
    },
    {
      type: "array",
      items: { type: "number", minimum: 0, maximum: 255 },
      minItems: SIDE * SIDE,
      maxItems: SIDE * SIDE,
      description: `${SIDE}x${SIDE} pixels row-major, white digit on black (as MNIST); used as-is`,
    },
  ],
};
const error = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: {
          type: "string",
          enum: Object.keys(ERROR_STATUS),
        },
        message: { type: "string" },
      },
    },
    request_id: { type: "string" },
  },
};
const errors = Object.fromEntries(
  [
    ["400", "malformed body, missing field, bad base64, wrong pixel count, bad threshold"],
    ["401", "API keys are configured and the request has none, or a wrong one (Authorization: Bearer <key>)"],
    ["413", "body or image too large"],
    ["415", "unsupported content type or image format"],
    ["422", "undecodable or blank image"],
    ["503", "model not loaded yet, or the server is shutting down"],
  ].map(([s, d]) => [s, { description: d, content: { "application/json": { schema: error } } }]),
);
const model = { type: "object", properties: { version: { type: "string" }, sha256: { type: "string" } } };
const timing = {
  type: "object",
  properties: { decode_ms: { type: "number" }, infer_ms: { type: "number" } },
};

export const openApi = {
  openapi: "3.1.0",
  info: { title: "Same-digit verifier", version: "1.0.0" },
  paths: {
    "/verify": {
      post: {
        summary: "Do two images show the same digit?",
        requestBody: {
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                required: ["a", "b"],
                properties: {
                  a: {
                    type: "string",
                    format: "binary",
                    description: "image file, any format above, up to 50 Mpx",
                  },
                  b: { type: "string", format: "binary" },
                  threshold: { type: "number", minimum: 0, maximum: 1 },
                },
              },
            },
            "application/json": {
              schema: {
                type: "object",
                required: ["a", "b"],
                properties: { a: image, b: image, threshold: { type: "number", minimum: 0, maximum: 1 } },
              },
            },
          },
        },
        responses: {
          "200": {
            description: "verdict",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    same: { type: "boolean" },
                    probability: { type: "number" },
                    threshold: { type: "number" },
                    model,
                    timing,
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    "/embed": {
      post: {
        summary: "Embedding of one image (field `image`), for caching references client-side",
        responses: { "200": { description: "embedding" }, ...errors },
      },
    },
    "/healthz": { get: { summary: "Process is alive", responses: { "200": { description: "ok" } } } },
    "/readyz": {
      get: {
        summary: "Model loaded and verified; the decoder in use and the answering isolate's memory",
        responses: { "200": { description: "ready" }, "503": errors["503"] },
      },
    },
    "/metrics": {
      get: {
        summary:
          "Prometheus text: requests by route and status, decode/inference/total latency histograms, " +
          "images by format; whole-process counts; the model version as a label",
        security: [{}, { apiKey: [] }],
        responses: { "200": { description: "text/plain; version=0.0.4" }, "401": errors["401"] },
      },
    },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: "http",
        scheme: "bearer",
        description:
          "Required on /verify, /embed and /metrics when the server sets API_KEYS or API_KEYS_FILE",
      },
    },
  },
  // No key needed unless the server is configured with some.
  security: [{}, { apiKey: [] }],
};

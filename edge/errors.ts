// The one table from error code to HTTP status, and the one error handler:
// client mistakes become {error: {code, message}}; anything else is logged
// and answered with an opaque 500 (never a stack trace).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ClientError, type ClientErrorCode } from "../shared/errors.ts";

export const STATUS: Record<ClientErrorCode, 400 | 401 | 404 | 413 | 415 | 422 | 503> = {
  bad_request: 400,
  missing_field: 400,
  bad_base64: 400,
  bad_pixels: 400,
  bad_threshold: 400,
  body_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  unsupported_image_format: 415,
  undecodable_image: 422,
  blank_image: 422,
  not_found: 404,
  unauthorized: 401,
  not_ready: 503,
  shutting_down: 503,
};

export function errorBody(code: string, message: string, c: Context) {
  return { error: { code, message }, request_id: c.get("requestId") };
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ClientError) {
    c.set("errorCode", err.code);
    if (err.code === "unauthorized") c.header("www-authenticate", 'Bearer realm="verifier"');
    return c.json(errorBody(err.code, err.message, c), STATUS[err.code]);
  }
  if (err instanceof HTTPException && err.status === 413) {
    return c.json(errorBody("body_too_large", "Request body exceeds the size limit", c), 413);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody("bad_request", err.message || "Bad request", c), err.status);
  }
  console.error(`request ${c.get("requestId")} failed:`, err);
  c.set("errorCode", "internal");
  return c.json(errorBody("internal", "Internal error", c), 500);
}

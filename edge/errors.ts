// The one error handler, by the status table of shared/errors.ts:
// client mistakes become {error: {code, message}}; anything else is logged
// and answered with an opaque 500 (never a stack trace).
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ClientError, ERROR_STATUS } from "../shared/errors.ts";

/** HTTP status by error code (shared/errors.ts's table). */
export const STATUS = ERROR_STATUS;

export function errorBody(code: string, message: string, c: Context) {
  return { error: { code, message }, request_id: c.get("requestId") };
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ClientError) {
    c.set("errorCode", err.code);
    if (err.code === "unauthorized") c.header("www-authenticate", 'Bearer realm="verifier"');
    // The rest of an unread body is not waited for (or the server is going): the connection closes.
    const closes = err.code === "request_timeout" || err.code === "overloaded" ||
      err.code === "shutting_down";
    if (closes) c.header("connection", "close");
    if (err.code === "overloaded" || err.code === "shutting_down") c.header("retry-after", "1");
    return c.json(errorBody(err.code, err.message, c), STATUS[err.code]);
  }
  // deno-coverage-ignore-start -- Hono's own middleware reports a client's mistake as an HTTPException;
  // none of those this app uses does, and this keeps any that comes a 4xx in the one shape
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody("bad_request", err.message || "Bad request", c), err.status);
  }
  // deno-coverage-ignore-stop
  console.error(`request ${c.get("requestId")} failed:`, err);
  c.set("errorCode", "internal");
  return c.json(errorBody("internal", "Internal error", c), 500);
}

// One error type for everything a client can get wrong. `code` is stable
// (clients switch on it); the edge maps codes to HTTP statuses in one table.

/**
 * Every error code the API answers with, and its HTTP status: the one table
 * (edge/errors.ts maps errors by it; the OpenAPI description lists it).
 *
 * @example
 * ```ts
 * import { ERROR_STATUS } from "./errors.ts";
 *
 * if (ERROR_STATUS.blank_image !== 422 || ERROR_STATUS.image_too_large !== 413) throw new Error("changed");
 * ```
 */
export const ERROR_STATUS = {
  bad_request: 400,
  missing_field: 400,
  bad_base64: 400,
  bad_pixels: 400,
  bad_threshold: 400,
  unauthorized: 401,
  not_found: 404,
  request_timeout: 408,
  body_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  unsupported_image_format: 415,
  undecodable_image: 422,
  blank_image: 422,
  internal: 500,
  not_ready: 503,
  overloaded: 503,
  shutting_down: 503,
} as const;

/** What a client's request (or the server's state) can be refused with: every code but `internal`. */
export type ClientErrorCode = Exclude<keyof typeof ERROR_STATUS, "internal">;

/**
 * An error the client caused (or the server's state refuses): a stable
 * `code` and a message for people. The edge (edge/errors.ts) answers it
 * with the status ERROR_STATUS[code] and a JSON body holding both.
 *
 * @example
 * ```ts
 * import { ClientError, ERROR_STATUS } from "./errors.ts";
 *
 * const e = new ClientError("blank_image", 'Image "a" has no ink');
 * if (!(e instanceof Error) || e.name !== "ClientError") throw new Error("not an Error");
 * if (ERROR_STATUS[e.code] !== 422) throw new Error("wrong status");
 * ```
 */
export class ClientError extends Error {
  constructor(readonly code: ClientErrorCode, message: string) {
    super(message);
    this.name = "ClientError";
  }
}

// One error type for everything a client can get wrong. `code` is stable
// (clients switch on it); the edge maps codes to HTTP statuses in one table.

export type ClientErrorCode =
  | "bad_request"
  | "missing_field"
  | "bad_base64"
  | "bad_pixels"
  | "bad_threshold"
  | "body_too_large"
  | "image_too_large"
  | "unsupported_media_type"
  | "unsupported_image_format"
  | "undecodable_image"
  | "blank_image"
  | "not_found"
  | "unauthorized"
  | "not_ready"
  | "shutting_down";

export class ClientError extends Error {
  constructor(readonly code: ClientErrorCode, message: string) {
    super(message);
    this.name = "ClientError";
  }
}

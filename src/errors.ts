/**
 * Errors with stable codes. Code anywhere in Herald throws a HeraldError naming what went wrong;
 * `src/http/errors.ts` is the one place that turns it into an HTTP response (status, Contentstack
 * `error_message` / `error_code` / `errors` by field). Callers and tests branch on `code`, never on
 * the message text.
 */
export type ErrorCode =
  | 'bad_request' // malformed request: bad JSON, wrong content type
  | 'validation_failed' // the request is well formed but a field is wrong; `errors` names the fields
  | 'unauthorized' // no credentials, or credentials that match nothing
  | 'forbidden' // valid credentials that may not do this (e.g. a management token creating a stack)
  | 'not_found' // does not exist, or exists in a stack the caller cannot see (never a 403: no leak)
  | 'conflict' // uniqueness or version conflict
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable' // the store is busy or full: try again
  | 'internal';

/** HTTP status for each code. The only table of its kind. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * Contentstack's numeric `error_code` for each of ours, so its clients and scripts that check the
 * number see familiar values (141: validation, 118/109: not found or bad credentials...).
 */
export const CONTENTSTACK_ERROR_CODE: Record<ErrorCode, number> = {
  bad_request: 141,
  validation_failed: 119,
  unauthorized: 105,
  forbidden: 162,
  not_found: 118,
  conflict: 119,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** Field name -> problems with it, as Contentstack returns them: `{ title: ["is required"] }`. */
export type FieldErrors = Record<string, string[]>;

/**
 * An empty FieldErrors to collect problems in. It has no prototype: field names come from what a
 * client sent, and one named `toString` or `constructor` must be a key like any other, not
 * Object.prototype's method (`(errors[name] ??= []).push(...)` would throw: a 500).
 */
export function fieldErrors(): FieldErrors {
  return Object.create(null) as FieldErrors;
}

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly errors?: FieldErrors;
  /** Seconds, for `rate_limited` and `unavailable`. */
  readonly retryAfter?: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { errors?: FieldErrors; cause?: unknown; retryAfter?: number } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'HeraldError';
    this.code = code;
    this.errors = opts.errors;
    this.retryAfter = opts.retryAfter;
  }
}

export const notFound = (what: string) => new HeraldError('not_found', `${what} was not found.`);

/** A validation error about one field; the message names the field too. */
export const invalid = (field: string, problem: string) =>
  new HeraldError('validation_failed', `${field} ${problem}`, { errors: { [field]: [problem] } });

export const badRequest = (message: string, field?: string) =>
  new HeraldError('bad_request', message, field ? { errors: { [field]: [message] } } : {});

import type { FastifyRequest } from 'fastify';
import { fieldErrors, HeraldError, type ErrorCode, type FieldErrors } from '../errors.ts';

/**
 * Errors in Contentful's shape, for every route under `/spaces/` (registered in app.ts RENDERERS):
 * `{ sys: { type: 'Error', id }, message, details, requestId }`, with the HTTP status Herald's
 * code has. `details.errors` lists each bad field as Contentful does
 * (`{ name, path: ['fields', 'title'], details }`). Contentful's clients name their exceptions
 * after `sys.id`.
 */
const SYS_IDS: Record<ErrorCode, string> = {
  bad_request: 'BadRequest',
  validation_failed: 'ValidationFailed',
  unauthorized: 'AccessTokenInvalid',
  forbidden: 'AccessDenied',
  not_found: 'NotFound',
  conflict: 'VersionMismatch',
  payload_too_large: 'RequestEntityTooLarge',
  unsupported_media_type: 'UnsupportedMediaType',
  rate_limited: 'RateLimitExceeded',
  unavailable: 'ServiceUnavailable',
  internal: 'InternalServerError',
};

/** The field key of a stale or missing `X-Contentful-Version`. */
export const VERSION_FIELD = 'X-Contentful-Version';

/**
 * The sys.id of an error. A conflict is a VersionMismatch when it is about versions: a stale
 * `X-Contentful-Version`, or a concurrent change the store caught (those carry no field); any
 * other conflict (a uid taken, a content type that still has entries) is a `Conflict`.
 */
export function sysIdOf(err: HeraldError): string {
  if (err instanceof InvalidQuery) return 'InvalidQuery';
  if (err.code === 'conflict' && err.errors && !(VERSION_FIELD in err.errors)) return 'Conflict';
  return SYS_IDS[err.code];
}

export function contentfulDetails(errors: FieldErrors | undefined): Record<string, unknown> {
  if (!errors || Object.keys(errors).length === 0) return {};
  return {
    errors: Object.entries(errors).flatMap(([path, problems]) =>
      problems.map((details) => ({ name: 'invalid', path: path === '' ? [] : path.split('.'), details })),
    ),
  };
}

export function renderContentful(err: HeraldError, req: FastifyRequest): unknown {
  return { sys: { type: 'Error', id: sysIdOf(err) }, message: err.message, details: contentfulDetails(err.errors), requestId: req.id };
}

/** 409 VersionMismatch: the version sent is not the current one. */
export function versionMismatch(what: string, sent: number | null, current: number): HeraldError {
  const problem = sent === null ? `is required: send the version you read (current: ${current})` : `is ${sent}, but ${what} is at version ${current}`;
  return new HeraldError('conflict', `${VERSION_FIELD} ${problem}`, { errors: { [VERSION_FIELD]: [problem] } });
}

/** A 422 listing every problem; its message names the first. */
export function validationFailed(errors: FieldErrors): HeraldError {
  const fields = Object.keys(errors);
  const first = fields[0];
  const more = fields.length > 1 ? ` (and ${fields.length - 1} more problem${fields.length > 2 ? 's' : ''})` : '';
  return new HeraldError('validation_failed', `${first} ${errors[first][0]}${more}`, { errors });
}

/**
 * The same error with its field paths in Contentful's words (`rename` maps one path); errors
 * without fields, and anything that is not a HeraldError, pass through.
 */
export function renameFields(err: unknown, rename: (path: string) => string): unknown {
  if (!(err instanceof HeraldError) || !err.errors || Object.keys(err.errors).length === 0) return err;
  const errors: FieldErrors = fieldErrors();
  for (const [path, list] of Object.entries(err.errors)) (errors[rename(path)] ??= []).push(...list);
  if (err.code === 'validation_failed') return validationFailed(errors);
  return new HeraldError(err.code, err.message, { errors, cause: err, retryAfter: err.retryAfter });
}

/** A 400 `InvalidQuery` (Contentful's sys.id for a query it cannot answer), naming the parameter. */
export class InvalidQuery extends HeraldError {
  readonly parameter: string;
  constructor(parameter: string, problem: string) {
    const errors = fieldErrors();
    errors[parameter] = [problem];
    super('bad_request', `The query parameter ${parameter} ${problem}.`, { errors });
    this.parameter = parameter;
  }
}

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { CONTENTSTACK_ERROR_CODE, HTTP_STATUS, HeraldError, fieldErrors } from '../errors.ts';

/**
 * The one place errors become HTTP responses. A HeraldError keeps its code; fastify's own errors
 * (bad JSON, body too large, schema validation) are translated to ours; anything else is logged
 * and answered with a bare 500 that reveals nothing.
 *
 * Body (Contentstack's shape): `{ error_message, error_code, errors, code }` where `error_code` is
 * Contentstack's number and `code` Herald's stable name.
 */
export function toHeraldError(err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  const e = err as FastifyError & { validation?: Array<{ instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }> };
  if (e.validation) {
    // A route schema refused the request (src/http/schemas.ts). Fields are named as the handlers'
    // own validators name them: `limit`, `webhook`, `entry.title`, without fastify's
    // `querystring.`/`body.` prefix (unless the problem is the whole body or query string).
    const errors = fieldErrors();
    for (const v of e.validation) {
      const missing = v.params?.missingProperty as string | undefined;
      const extra = v.params?.additionalProperty as string | undefined;
      const path = [...(v.instancePath ?? '').split('/').filter(Boolean), missing ?? extra].filter(Boolean).join('.');
      const field = path || e.validationContext || 'body';
      (errors[field] ??= []).push(extra ? 'is not a known field' : missing ? 'is required' : schemaProblem(v));
    }
    const first = Object.entries(errors)[0];
    return new HeraldError('validation_failed', first ? `${first[0]} ${first[1][0]}` : 'The request is invalid.', { errors, cause: err });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HeraldError('bad_request', `The request body is not valid JSON: ${e.message}`, { errors: { body: ['is not valid JSON'] }, cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HeraldError('payload_too_large', 'The request body is larger than the server accepts.', { cause: err });
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HeraldError('payload_too_large', 'The uploaded file is larger than the server accepts.', { cause: err });
    case 'FST_FILES_LIMIT':
      return new HeraldError('bad_request', 'Upload one file per request.', { errors: { 'asset[upload]': ['must be a single file'] }, cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HeraldError('unsupported_media_type', `Unsupported Content-Type: ${e.message}`, { cause: err });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new HeraldError('unsupported_media_type', 'The request is not multipart/form-data.', { cause: err });
  }
  // A full disk (asset files, uploads): try again later, as the stores answer a full database.
  if ((e.code as string) === 'ENOSPC' || (e.code as string) === 'EDQUOT') {
    return new HeraldError('unavailable', 'Herald has no space left to store this; try again later.', { cause: err, retryAfter: 30 });
  }
  // busboy's words for a multipart body it cannot read (no boundary, a broken part).
  if (e instanceof Error && /^(Multipart: Boundary not found|Malformed part header|Unexpected end of (form|file)|Malformed urlencoded form)/.test(e.message)) {
    const field = /Boundary/.test(e.message) ? 'content-type' : 'body';
    return new HeraldError('bad_request', `The multipart body cannot be read: ${e.message}.`, { errors: { [field]: [field === 'content-type' ? 'must name the multipart boundary (multipart/form-data; boundary=...)' : 'is not a complete multipart/form-data body'] }, cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? 'payload_too_large' : e.statusCode === 429 ? 'rate_limited' : e.statusCode === 404 ? 'not_found' : e.statusCode === 415 ? 'unsupported_media_type' : 'bad_request';
    return new HeraldError(code, e.message, { cause: err });
  }
  return new HeraldError('internal', 'Something went wrong inside Herald.', { cause: err });
}

/** A schema keyword's failure in the words the handlers' validators use. */
function schemaProblem(v: { keyword?: string; message?: string; params?: Record<string, unknown> }): string {
  const p = v.params ?? {};
  switch (v.keyword) {
    case 'type':
      return p.type === 'integer' ? 'must be a whole number' : p.type === 'object' ? 'must be an object' : p.type === 'array' ? 'must be a list' : `must be a ${String(p.type)}`;
    case 'minimum':
      return `must be at least ${String(p.limit)}`;
    case 'maximum':
      return `must be at most ${String(p.limit)}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).filter((x) => x !== '').join(', ')}`;
    default:
      return v.message ?? 'is invalid';
  }
}

/** How one dialect renders an error body; the Contentful routes register their own. */
export type ErrorRenderer = (err: HeraldError, req: FastifyRequest) => unknown;

export function renderContentstack(err: HeraldError): unknown {
  return {
    error_message: err.message,
    error_code: CONTENTSTACK_ERROR_CODE[err.code],
    errors: err.errors ?? {},
    code: err.code,
  };
}

export function errorHandler(log: Logger, renderers: Array<{ prefix: string; render: ErrorRenderer }>) {
  return (raw: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const err = toHeraldError(raw);
    const status = HTTP_STATUS[err.code];
    if (status >= 500 && err.code === 'internal') {
      log.error({ err: raw, reqId: req.id, url: req.routeOptions?.url }, 'unhandled error');
    }
    if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
    const renderer = renderers.find((r) => req.url.startsWith(r.prefix));
    reply.status(status).send(renderer ? renderer.render(err, req) : renderContentstack(err));
  };
}

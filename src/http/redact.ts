/**
 * Request headers that carry credentials: never written to the log, whoever logs them. Fastify
 * plugins log through `req.log` (e.g. @fastify/multipart logs its busboy options, request headers
 * included, at trace level), so redaction sits on the logger itself (src/ops/log.ts).
 */
export const CREDENTIAL_HEADERS = ['authorization', 'authtoken', 'access_token', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

/** Where a logged object may carry headers: at its top level, or one object down (`busboyOptions.headers`). */
export const REDACTED_PATHS = CREDENTIAL_HEADERS.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]);

import type { IncomingMessage } from 'node:http';

/**
 * Contentful's APIs take the token as `Authorization: Bearer <token>` or as the query parameter
 * `access_token=<token>` (Contentful's Authentication reference: "There are two ways to send the
 * authentication token to an API"), the management API (CMA) as well as delivery and preview.
 * Herald takes both under `/spaces/`: before routing (fastify's `rewriteUrl`), the query's token
 * becomes the `Authorization` header and leaves the URL, so everything after (the route's credential
 * constraint, authentication, the query checks, ETags, the request log line) sees only the header,
 * and one request has one way to be authenticated and to fail. The token never stays in `req.url`;
 * the request line Herald logs has no query anyway (src/http/app.ts).
 *
 * A token sent twice (a header and the parameter, or the parameter twice) is left in the URL and
 * refused with a 400 naming `access_token` (refuseTwiceSentToken): which one to believe is not
 * Herald's guess.
 */

/** What a request's URL says about its token: the URL to route, and the header to set, if any. */
export interface QueryToken {
  url: string;
  authorization?: string;
}

const PARAM = 'access_token';

function keyOf(piece: string): string {
  const eq = piece.indexOf('=');
  const raw = eq < 0 ? piece : piece.slice(0, eq);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

function valueOf(piece: string): string {
  const eq = piece.indexOf('=');
  if (eq < 0) return '';
  try {
    return decodeURIComponent(piece.slice(eq + 1).replace(/\+/g, ' '));
  } catch {
    return piece.slice(eq + 1);
  }
}

/**
 * Moves a Contentful-dialect request's `access_token` query parameter to `Authorization: Bearer`.
 * The URL keeps every other parameter as sent (their order and encoding). Left as it is: a URL
 * outside `/spaces/`, one without the parameter, and a token sent twice (see above).
 */
export function tokenFromQuery(url: string, authorization: string | string[] | undefined): QueryToken {
  const q = url.indexOf('?');
  if (q < 0 || !url.startsWith('/spaces/')) return { url };
  const pieces = url.slice(q + 1).split('&');
  const tokens = pieces.filter((p) => keyOf(p) === PARAM);
  if (tokens.length === 0) return { url };
  if (tokens.length > 1 || authorization !== undefined) return { url };
  const token = valueOf(tokens[0]).trim();
  if (token === '') return { url };
  const rest = pieces.filter((p) => keyOf(p) !== PARAM);
  return { url: url.slice(0, q) + (rest.length ? `?${rest.join('&')}` : ''), authorization: `Bearer ${token}` };
}

/** The 400 of a token sent twice, for a request whose URL still carries `access_token` after moveQueryToken. */
export const TWICE_SENT = 'is sent with an Authorization header, or twice: send the token once (the header, or access_token)';

/** fastify's `rewriteUrl`: applies tokenFromQuery to the raw request (its header included). */
export function moveQueryToken(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const moved = tokenFromQuery(url, req.headers.authorization);
  if (moved.authorization !== undefined) {
    req.headers.authorization = moved.authorization;
    // fastify keeps the URL as sent in `originalUrl` (request.originalUrl): without the token too.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = moved.url;
  }
  return moved.url;
}

import { HeraldError } from '../errors.ts';

/**
 * Parses a JSON request body. An empty body is `{}` (clients send `Content-Type: application/json`
 * on DELETE with no body). A `"__proto__"` key anywhere is refused with a 400, as fastify's own
 * parser does: code all over Herald keeps problems and lookups in plain objects keyed by what the
 * client sent, where that key reaches Object.prototype instead of a property (a 500, or worse).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  // The key can only be there if the text spells "proto" or escapes characters (\u005f...).
  const check = text.includes('proto') || text.includes('\\u');
  try {
    return check ? JSON.parse(text, refuseProtoKey) : JSON.parse(text);
  } catch (err) {
    if (err instanceof HeraldError) throw err;
    throw new HeraldError('bad_request', `The request body is not valid JSON: ${(err as Error).message}`, { errors: { body: ['is not valid JSON'] } });
  }
}

function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__') {
    throw new HeraldError('bad_request', 'The request body has a "__proto__" key, which Herald refuses.', { errors: { body: ['must not contain a "__proto__" key'] } });
  }
  return value;
}

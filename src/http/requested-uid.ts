import type { FastifyRequest } from 'fastify';
import { HeraldError, invalid } from '../errors.ts';
import { CONTENTFUL_ID } from './contentful.ts';

/**
 * `x-herald-uid`: Herald's own way, not Contentstack's, to choose the uid of the entry or asset a
 * /v3 create makes (`POST /v3/content_types/{ct}/entries`, `POST /v3/assets`). A restore
 * (`herald restore`) sends it so that a deleted entry or asset comes back under the uid sites
 * hard-code. A `uid` in the body stays ignored, as Contentstack ignores it: a body read from one
 * entry and sent back to make a copy must make a copy, not a 409. Only callers that may create (a
 * management token of the stack, or the admin token) reach these routes.
 *
 * No silent answer: a uid that is not letters, digits, `.`, `-` and `_` (at most 64; a `blt...`
 * uid and a Contentful id both are) is a 422 naming the header, one the branch already has a 409.
 */
export const REQUESTED_UID_HEADER = 'x-herald-uid';

/** The uid asked for, or undefined when the header is absent. */
export function requestedUid(req: FastifyRequest): string | undefined {
  const raw = req.headers[REQUESTED_UID_HEADER];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) return undefined;
  if (!CONTENTFUL_ID.test(v)) throw invalid(REQUESTED_UID_HEADER, 'must be letters, digits, ".", "-" and "_" (at most 64)');
  return v;
}

/** Runs a create asked to use `uid`; its taken-uid 409 names the header. */
export async function createWithUid<T>(uid: string | undefined, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (uid === undefined || !(err instanceof HeraldError) || err.code !== 'conflict') throw err;
    throw new HeraldError('conflict', `${err.message} Send another ${REQUESTED_UID_HEADER}, or none for a new uid.`, { errors: { [REQUESTED_UID_HEADER]: [`${uid} is taken`] }, cause: err });
  }
}

import type { FastifyRequest } from 'fastify';
import { invalid } from '../errors.ts';

/**
 * `x-herald-event-seq`: Herald's own request header, not Contentstack's, on
 * `GET /v3/assets/{uid}/download?version=N`. A deleted asset's uid can be given to a new asset
 * (x-herald-uid, the Contentful dialect's create-with-id) whose versions start at 1 again, so a uid
 * and a version can name two files; the seq of one of the wanted asset's events (from the event
 * feed or a webhook) names the asset the uid named then. The backup center sends it when it fetches
 * a version's bytes. The answer carries the header back: a Herald that ignored it (older than this
 * header) answered for the current asset, or the last deleted one, whatever the event.
 *
 * No silent answer: a value that is not a whole number >= 1 is a 422 naming the header.
 */
export const EVENT_SEQ_HEADER = 'x-herald-event-seq';

/** The seq asked for, or undefined when the header is absent. */
export function requestedEventSeq(req: FastifyRequest): number | undefined {
  const raw = req.headers[EVENT_SEQ_HEADER];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(v) || !Number.isSafeInteger(Number(v))) throw invalid(EVENT_SEQ_HEADER, 'must be a whole number >= 1 (the seq of an event of the asset)');
  return Number(v);
}

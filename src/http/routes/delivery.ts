import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { openRead, readAsset, readAssets, readContentType, readContentTypes, readEntries, readEntry, type ReadContext } from '../../published/contentstack.ts';
import { parseReadParams, type ReadParams } from '../../published/params.ts';
import { parseSyncRequest, sync } from '../../published/sync.ts';
import { readerOf } from '../../published/tokens.ts';
import { DELIVERY } from '../credential.ts';
import { originOf } from '../origin.ts';
import { readTag, sendRead } from '../read-cache.ts';
import { doc, Params, TAGS } from '../schemas.ts';

type Q = Record<string, unknown>;
type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Q }>;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);


/**
 * Contentstack's Content Delivery API (v3), on the management API's paths and port: a request
 * with `api_key` and `access_token` (a delivery token) and no management credential reads what is
 * published (src/published/contentstack.ts). Every answer carries an ETag and Cache-Control
 * (src/http/read-cache.ts).
 */
export default function deliveryRoutes(app: FastifyInstance, h: Herald) {
  /** Authenticates the delivery token and checks where the request reads. */
  const open = async (req: Req, params: ReadParams) => {
    const token = first(req.headers.access_token);
    const reader = token ? await readerOf(h.db, token) : undefined;
    if (!reader || reader.dialect !== 'contentstack') {
      throw new HeraldError('unauthorized', token ? 'The access_token is not a valid delivery token.' : 'Send api_key and access_token (a delivery token) headers.');
    }
    return openRead(h, reader, first(req.headers.api_key), first(req.headers.branch) || 'main', params, originOf(req, h.config.publicUrl));
  };
  /** Answers a read through the read cache (ETag, 304, cached bodies). */
  const read = (compute: (ctx: ReadContext, req: Req) => Promise<unknown>) =>
    async (req: Req, reply: FastifyReply) => {
      const ctx = await open(req, parseReadParams(req.query));
      const etag = readTag([ctx.seq, ctx.scope.api_key, ctx.scope.branch, ctx.environment.uid, ctx.locales.join(','), ctx.origin, req.url]);
      return sendRead(req, reply, etag, () => compute(ctx, req));
    };
  const opts = (summary: string, params?: Record<string, string>) => ({
    ...doc(TAGS.delivery, summary, { ...(params ? { params: Params(params) } : {}), security: [{ api_key: [], access_token: [] }] }),
    constraints: DELIVERY,
  });

  app.get('/v3/content_types', opts('Content types (delivery token)'), read((ctx) => readContentTypes(h, ctx)));
  app.get('/v3/content_types/:uid', opts('A content type (delivery token)', { uid: 'the content type uid' }), read((ctx, req) => (req.params.uid === '' ? readContentTypes(h, ctx) : readContentType(h, ctx, req.params.uid))));
  app.get(
    '/v3/content_types/:content_type_uid/entries',
    opts('Entries as published to the environment (delivery token): query, include[], only/except, locale with include_fallback, skip/limit, include_count', { content_type_uid: 'the content type uid' }),
    read((ctx, req) => readEntries(h, ctx, req.params.content_type_uid)),
  );
  app.get(
    '/v3/content_types/:content_type_uid/entries/:uid',
    opts('An entry as published to the environment (delivery token)', { content_type_uid: 'the content type uid', uid: 'the entry uid' }),
    // `contentstack` 3.x asks for lists with a trailing slash (`.../entries/`): an empty uid is the list.
    read((ctx, req) => (req.params.uid === '' ? readEntries(h, ctx, req.params.content_type_uid) : readEntry(h, ctx, req.params.content_type_uid, req.params.uid))),
  );
  app.get('/v3/assets', opts('Assets as published to the environment (delivery token)'), read((ctx) => readAssets(h, ctx)));
  app.get('/v3/assets/:uid', opts('An asset as published to the environment (delivery token)', { uid: 'the asset uid' }), read((ctx, req) => (req.params.uid === '' ? readAssets(h, ctx) : readAsset(h, ctx, req.params.uid))));

  // Not shared with a management route, so no constraint: a management credential gets a 401 here.
  app.get(
    '/v3/stacks/sync',
    doc(TAGS.delivery, 'Sync what is published to the environment: init=true, then pagination_token / sync_token (delivery token)', { security: [{ api_key: [], access_token: [] }] }),
    async (req: Req, reply) => {
      const q = req.query;
      const request = parseSyncRequest(q);
      // The sync's own locale filter is not the read locale.
      const { locale: _locale, ...rest } = q;
      void _locale;
      const ctx = await open(req, parseReadParams(rest));
      reply.header('cache-control', 'no-store');
      return sync(h, ctx, request);
    },
  );
}

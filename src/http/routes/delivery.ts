import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { openRead, readAsset, readAssets, readContentType, readContentTypes, readEntries, readEntry, type ReadContext } from '../../published/contentstack.ts';
import { parseReadParams, type ReadParams } from '../../published/params.ts';
import { parseSyncRequest, sync } from '../../published/sync.ts';
import { readerOf } from '../../published/tokens.ts';
import { DELIVERY } from '../credential.ts';
import { originOf } from '../origin.ts';
import { checkParams } from '../query-check.ts';
import { readTag, sendRead } from '../read-cache.ts';
import { doc, Params, Query, TAGS, Text, Texts } from '../schemas.ts';

type Q = Record<string, unknown>;
type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Q }>;
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);


/**
 * What the delivery reads implement (src/published/params.ts reads them; anything else is a 422:
 * src/http/query-check.ts). Each route lists what it applies: references and the content type
 * come with entries only, paging, sorting, filters and counts with lists only.
 */
const READ_PROPS = {
  environment: Text('the environment to read (required): its name'),
  locale: Text('the locale (default the master)'),
  include_fallback: Text('true: along the locale\'s fallback chain'),
  include_count: Text('true: add count'),
  count: Text('true: only the count'),
  include_content_type: Text('true: add the content type'),
  include_branch: Text('true: add _branch'),
  include_publish_details: Text('publish_details are always there'),
  include_global_field_schema: Text('accepted (Herald content types have their schema inline)'),
  include_reference_content_type_uid: Text('true: resolved entries carry _content_type_uid'),
  'include[]': Texts('resolve this reference field (dotted paths go deeper); repeat for more'),
  'include[][]': Texts('include[], as the delivery SDK sends it'),
  include: Texts('include[]'),
  query: Text('a JSON filter with the management API operators'),
  skip: Text('items to skip'),
  limit: Text('items per page, at most 100'),
  asc: Text('field to sort by, ascending'),
  desc: Text('field to sort by, descending'),
};
type ReadParam = keyof typeof READ_PROPS;
const PROJECTION = { '^(only|except)\\[[^\\]]+\\](\\[\\d*\\])?$': Texts('only[BASE][]: keep these fields (and uid); except[BASE][]: drop them; [a reference field uid] for included entries') };
/** Parameters only a list applies. */
const LIST: ReadParam[] = ['query', 'skip', 'limit', 'asc', 'desc', 'include_count', 'count'];
/** Parameters only entries apply (their references and content type). */
const ENTRY: ReadParam[] = ['include[]', 'include[][]', 'include', 'include_content_type', 'include_reference_content_type_uid', 'include_global_field_schema'];
const readQuery = (...left: ReadParam[][]) => {
  const out = new Set(left.flat());
  return Query(Object.fromEntries(Object.entries(READ_PROPS).filter(([k]) => !out.has(k as ReadParam))), PROJECTION);
};
const ENTRIES_QUERY = readQuery();
const ENTRY_QUERY = readQuery(LIST);
const ASSETS_QUERY = readQuery(ENTRY);
const ASSET_QUERY = readQuery(ENTRY, LIST);
// Content types have no publish details; include_global_field_schema is theirs.
const TYPES_QUERY = readQuery(ENTRY.filter((k) => k !== 'include_global_field_schema'), ['include_publish_details']);
const TYPE_QUERY = readQuery(ENTRY.filter((k) => k !== 'include_global_field_schema'), ['include_publish_details'], LIST);
const SYNC_QUERY = Query({
  environment: Text('the environment to sync (required)'),
  init: Text('true: start a sync'),
  pagination_token: Text('the next page of a sync'),
  sync_token: Text('changes since the sync that gave it'),
  type: Text('init only: comma-separated item types'),
  content_type_uid: Text('init only: entries of this content type'),
  locale: Text('init only: this locale'),
  start_date: Text('init only: published since (ISO 8601)'),
});

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
  const opts = (summary: string, querystring: ReturnType<typeof readQuery>, params?: Record<string, string>) => ({
    ...doc(TAGS.delivery, summary, { ...(params ? { params: Params(params) } : {}), querystring, security: [{ api_key: [], access_token: [] }] }),
    constraints: DELIVERY,
  });
  /**
   * `.../:uid` answers the list when the uid is empty (`contentstack` 3.x asks for lists with a
   * trailing slash), so its route takes the list's parameters; one item takes only `one`'s.
   */
  const single = (req: Req, one: ReturnType<typeof readQuery>) => {
    if (req.params.uid !== '') checkParams(req, one, `GET ${req.routeOptions.url} (one item)`);
    return req.params.uid !== '';
  };

  app.get('/v3/content_types', opts('Content types (delivery token)', TYPES_QUERY), read((ctx) => readContentTypes(h, ctx)));
  app.get('/v3/content_types/:uid', opts('A content type (delivery token)', TYPES_QUERY, { uid: 'the content type uid' }), read((ctx, req) => (single(req, TYPE_QUERY) ? readContentType(h, ctx, req.params.uid!) : readContentTypes(h, ctx))));
  app.get(
    '/v3/content_types/:content_type_uid/entries',
    opts('Entries as published to the environment (delivery token): query, include[], only/except, locale with include_fallback, skip/limit, include_count', ENTRIES_QUERY, { content_type_uid: 'the content type uid' }),
    read((ctx, req) => readEntries(h, ctx, req.params.content_type_uid)),
  );
  app.get(
    '/v3/content_types/:content_type_uid/entries/:uid',
    opts('An entry as published to the environment (delivery token)', ENTRIES_QUERY, { content_type_uid: 'the content type uid', uid: 'the entry uid' }),
    // `contentstack` 3.x asks for lists with a trailing slash (`.../entries/`): an empty uid is the list.
    read((ctx, req) => (single(req, ENTRY_QUERY) ? readEntry(h, ctx, req.params.content_type_uid!, req.params.uid!) : readEntries(h, ctx, req.params.content_type_uid!))),
  );
  app.get('/v3/assets', opts('Assets as published to the environment (delivery token)', ASSETS_QUERY), read((ctx) => readAssets(h, ctx)));
  app.get('/v3/assets/:uid', opts('An asset as published to the environment (delivery token)', ASSETS_QUERY, { uid: 'the asset uid' }), read((ctx, req) => (single(req, ASSET_QUERY) ? readAsset(h, ctx, req.params.uid!) : readAssets(h, ctx))));

  // Not shared with a management route, so no constraint: a management credential gets a 401 here.
  app.get(
    '/v3/stacks/sync',
    doc(TAGS.delivery, 'Sync what is published to the environment: init=true, then pagination_token / sync_token (delivery token)', { querystring: SYNC_QUERY, security: [{ api_key: [], access_token: [] }] }),
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

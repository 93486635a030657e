import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collection, simpleList, spaceScope, noQuery } from '../contentful.ts';
import { HeraldError } from '../../errors.ts';
import { InvalidQuery } from '../../contentful/errors.ts';
import type { Herald } from '../../herald.ts';
import { cdaAsset, cdaAssets, cdaContentType, cdaContentTypes, cdaEntries, cdaEntry, cdaLocales, cdaSync, cdaTag, cdaTags, localeBasedOf, localesOf, openContentfulRead, type CfContext } from '../../published/contentful.ts';
import { createApiKey, deleteApiKey, getApiKey, getPreviewKey, listApiKeys, listPreviewKeys, updateApiKey } from '../../published/contentful-keys.ts';
import { readerOf } from '../../published/tokens.ts';
import { DELIVERY } from '../credential.ts';
import { originOf } from '../origin.ts';
import { readTag, sendRead } from '../read-cache.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Req = FastifyRequest<{ Params: { space: string; env?: string; id?: string }; Querystring: Record<string, unknown> }>;

/**
 * Contentful's Content Delivery and Preview APIs (src/published/contentful.ts), on the management
 * API's paths, for requests whose Bearer token is a delivery or preview key; and the keys
 * themselves (`/spaces/{space}/api_keys`, `/preview_api_keys`), managed with a management token.
 */
export default function contentfulDeliveryRoutes(app: FastifyInstance, h: Herald) {
  const open = async (req: Req): Promise<CfContext> => {
    const auth = req.headers.authorization;
    const token = (Array.isArray(auth) ? auth[0] : auth)?.replace(/^Bearer\s+/i, '').trim();
    const reader = token ? await readerOf(h.db, token) : undefined;
    if (!reader || reader.dialect !== 'contentful') throw new HeraldError('unauthorized', 'The access token you sent could not be found or is invalid.');
    const localeBased = localeBasedOf(req.headers['x-contentful-locale-based-publishing']);
    return openContentfulRead(h, reader, req.params.space, req.params.env ?? 'master', originOf(req, h.config.publicUrl), localeBased);
  };
  const read = (compute: (ctx: CfContext, req: Req) => Promise<unknown>) => async (req: Req, reply: FastifyReply) => {
    const ctx = await open(req);
    const etag = readTag([ctx.seq, ctx.reader.kind, ctx.scope.api_key, ctx.scope.branch, ctx.envUid ?? '', ctx.origin, req.url, ctx.localeBased ? 'locale-based' : '', ctx.tagsKey]);
    reply.header('content-type', 'application/vnd.contentful.delivery.v1+json');
    return sendRead(req, reply, etag, () => compute(ctx, req));
  };
  const route = (path: string, summary: string, compute: (ctx: CfContext, req: Req) => Promise<unknown>) => {
    for (const url of [`/spaces/:space/environments/:env${path}`, `/spaces/:space${path}`]) {
      app.get(url, { ...contentfulDoc(url, `${summary} (delivery or preview key)`), constraints: DELIVERY }, read(compute));
    }
  };
  route('/entries', 'Entries: published (delivery key) or drafts (preview key), include, search parameters, locale', (ctx, req) => cdaEntries(h, ctx, req.query));
  route('/entries/:id', 'An entry', (ctx, req) => cdaEntry(h, ctx, req.params.id!, req.query));
  route('/assets', 'Assets', (ctx, req) => cdaAssets(h, ctx, req.query));
  route('/assets/:id', 'An asset', (ctx, req) => cdaAsset(h, ctx, req.params.id!, req.query));
  route('/content_types', 'Content types', (ctx, req) => cdaContentTypes(h, ctx, req.query));
  route('/content_types/:id', 'A content type', (ctx, req) => cdaContentType(h, ctx, req.params.id!, req.query));
  route('/locales', 'Locales', async (ctx, req) => cdaLocales(ctx, req.query));
  route('/tags', 'Public tags', async (ctx, req) => cdaTags(ctx, req.query));
  route('/tags/:id', 'A public tag', async (ctx, req) => cdaTag(ctx, req.params.id!, req.query));
  // Contentful's taxonomy (concepts, concept schemes; contentful.js getConcepts...): Herald keeps none
  // (the management API refuses metadata.concepts), so a 404 saying so rather than an empty list.
  for (const url of ['/spaces/:space/environments/:env/taxonomy/*', '/spaces/:space/taxonomy/*']) {
    app.get(url, { ...contentfulDoc(url, 'Taxonomy: not kept by Herald (404)'), constraints: DELIVERY }, async (req: Req) => {
      await open(req);
      throw new HeraldError('not_found', 'Herald keeps no taxonomy (concepts, concept schemes): its management API refuses metadata.concepts.');
    });
  }
  for (const url of ['/spaces/:space/environments/:env/sync', '/spaces/:space/sync']) {
    app.get(url, contentfulDoc(url, 'Sync what is published: initial=true, then nextPageUrl / nextSyncUrl (delivery key)'), async (req: Req, reply) => {
      const ctx = await open(req);
      reply.header('cache-control', 'no-store');
      return cdaSync(h, ctx, req.query);
    });
  }
  app.get('/spaces/:space', { ...contentfulDoc('/spaces/:space', 'The space (delivery or preview key)'), constraints: DELIVERY }, async (req: Req) => {
    const ctx = await open(req);
    // The space takes no parameter (besides the key): anything else is a 400 naming it.
    for (const k of Object.keys(req.query ?? {})) if (k !== 'access_token') throw new InvalidQuery(k, 'is not a parameter of the space');
    const locales = localesOf(ctx);
    return { sys: { type: 'Space', id: ctx.scope.api_key }, name: ctx.scope.api_key, locales };
  });

  // The keys (management token).
  type K = { Params: { space: string; id: string } };
  app.get<K>('/spaces/:space/api_keys', contentfulDoc('/spaces/:space/api_keys', 'Delivery API keys (tokens masked)'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    // Searched and paged as the other simple lists (sys.*, order, select, skip, limit); anything else is a 400.
    const { items, total, page } = simpleList((req.query ?? {}) as Record<string, unknown>, await listApiKeys(h.db, scope.api_key));
    return collection(items, page, total);
  });
  app.post<K>('/spaces/:space/api_keys', contentfulDoc('/spaces/:space/api_keys', 'Create a delivery API key and its preview key (both tokens shown once)', CREATED), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    reply.status(201);
    return createApiKey(h.db, scope.api_key, scope.caller.actor, req.body);
  });
  app.get<K>('/spaces/:space/api_keys/:id', { ...contentfulDoc('/spaces/:space/api_keys/:id', 'A delivery API key (token masked)'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return getApiKey(h.db, scope.api_key, req.params.id);
  });
  app.put<K>('/spaces/:space/api_keys/:id', contentfulDoc('/spaces/:space/api_keys/:id', 'Rename or re-scope a key and its preview key'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return updateApiKey(h.db, scope.api_key, req.params.id, scope.caller.actor, req.body);
  });
  app.delete<K>('/spaces/:space/api_keys/:id', contentfulDoc('/spaces/:space/api_keys/:id', 'Revoke a key and its preview key', NO_CONTENT), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    await deleteApiKey(h.db, scope.api_key, req.params.id);
    return reply.status(204).send();
  });
  app.get<K>('/spaces/:space/preview_api_keys', contentfulDoc('/spaces/:space/preview_api_keys', 'Preview API keys (tokens masked)'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const { items, total, page } = simpleList((req.query ?? {}) as Record<string, unknown>, await listPreviewKeys(h.db, scope.api_key));
    return collection(items, page, total);
  });
  app.get<K>('/spaces/:space/preview_api_keys/:id', { ...contentfulDoc('/spaces/:space/preview_api_keys/:id', 'A preview API key (token masked)'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return getPreviewKey(h.db, scope.api_key, req.params.id);
  });
}

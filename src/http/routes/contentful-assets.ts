import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  archiveAsset,
  assetExists,
  createAssetFrom,
  deleteUpload,
  getAssetView,
  getUpload,
  listAssetViews,
  presentUpload,
  processAsset,
  publishAssetTo,
  receiveUpload,
  removeAsset,
  saveAsset,
  unpublishAssetFrom,
} from '../../contentful/assets.ts';
import { MASTER_ENVIRONMENT, type SysContext } from '../../contentful/entities.ts';
import { collection, CONTENTFUL_ID, spaceScope, versionHeader, noQuery } from '../contentful.ts';
import { HeraldError, invalid } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { originOf } from '../origin.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Q = Record<string, string | undefined>;
type Env = { Params: { space: string; env?: string }; Querystring: Q };
type One = { Params: { space: string; env?: string; id: string }; Querystring: Q };

/** The origin asset URLs are built on (src/http/origin.ts): the public URL, or the one the client reached Herald at. */
const origin = (req: FastifyRequest, h: Herald) => originOf(req, h.config.publicUrl);

/**
 * Assets and uploads in the Contentful dialect (src/contentful/assets.ts), under
 * `/spaces/:space/environments/:env` and `/spaces/:space` (the master environment):
 *
 *   uploads               POST (application/octet-stream body, at most HERALD_ASSET_LIMIT bytes)
 *                         -> { sys: { type: Upload, id } }; /:id GET, DELETE
 *   assets                POST, GET; /:id GET, PUT (create with that id, or update with
 *                         X-Contentful-Version), DELETE;
 *                         /:id/files/:locale/process PUT; /:id/published PUT, DELETE;
 *                         /:id/archived PUT, DELETE
 */
export default async function contentfulAssetRoutes(app: FastifyInstance, h: Herald) {
  const scoped = async (req: FastifyRequest<{ Params: { space: string; env?: string } }>) => {
    const env = req.params.env ?? MASTER_ENVIRONMENT;
    const scope = await spaceScope(h, req, req.params.space, env);
    const ctx: SysContext = { spaceId: scope.api_key, environmentId: env };
    return { scope, ctx };
  };
  const limit = h.config.assetLimit;

  // Uploads take raw bytes: a parser for them only here (encapsulated), streamed to disk.
  await app.register(async (uploads) => {
    uploads.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    for (const base of ['/spaces/:space/environments/:env', '/spaces/:space']) {
      uploads.post<Env>(`${base}/uploads`, contentfulDoc(`${base}/uploads`, 'Upload a file (application/octet-stream) for an asset to use', CREATED), async (req, reply) => {
        const { scope, ctx } = await scoped(req);
        const body = req.body as AsyncIterable<Buffer> | undefined;
        if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
          throw new HeraldError('unsupported_media_type', 'An upload is the file itself, sent as Content-Type: application/octet-stream.', {
            errors: { body: ['must be sent as application/octet-stream'] },
          });
        }
        const u = await receiveUpload(h, scope, body, limit);
        reply.status(201);
        return presentUpload(u, ctx, scope.caller.actor);
      });

      uploads.get<One>(`${base}/uploads/:id`, contentfulDoc(`${base}/uploads/:id`, 'Get an upload'), async (req) => {
        const { scope, ctx } = await scoped(req);
        return presentUpload(await getUpload(h.db, scope, req.params.id), ctx, scope.caller.actor);
      });

      uploads.delete<One>(`${base}/uploads/:id`, contentfulDoc(`${base}/uploads/:id`, 'Delete an upload', NO_CONTENT), async (req, reply) => {
        const { scope } = await scoped(req);
        await deleteUpload(h, scope, req.params.id);
        reply.status(204);
      });
    }
  });

  for (const base of ['/spaces/:space/environments/:env', '/spaces/:space']) {
    app.post<Env>(`${base}/assets`, contentfulDoc(`${base}/assets`, 'Create an asset (from an upload or a data: URL)', CREATED), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const asset = await createAssetFrom(h, scope, ctx, req.body, origin(req, h), limit);
      reply.status(201);
      return asset;
    });

    app.get<Env>(`${base}/assets`, contentfulDoc(`${base}/assets`, 'List assets'), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = await listAssetViews(h, scope, ctx, req.query, origin(req, h));
      return collection(items, page, total);
    });

    app.get<One>(`${base}/assets/:id`, { ...contentfulDoc(`${base}/assets/:id`, 'Get an asset'), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return getAssetView(h, scope, ctx, req.params.id, origin(req, h));
    });

    app.put<One>(`${base}/assets/:id`, contentfulDoc(`${base}/assets/:id`, 'Update an asset (X-Contentful-Version), or create one with this id'), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const sent = versionHeader(req);
      // Contentful's create-with-id: a PUT without a version (or version 0) to an id no asset has.
      if ((sent === null || sent === 0) && !(await assetExists(h.db, scope, req.params.id))) {
        if (!CONTENTFUL_ID.test(req.params.id)) throw invalid('sys.id', 'must be letters, digits, ".", "-" and "_" (at most 64)');
        const asset = await createAssetFrom(h, scope, ctx, req.body, origin(req, h), limit, req.params.id);
        reply.status(201);
        return asset;
      }
      return saveAsset(h, scope, ctx, req.params.id, sent, req.body, origin(req, h), limit);
    });

    app.delete<One>(`${base}/assets/:id`, contentfulDoc(`${base}/assets/:id`, 'Delete an asset', NO_CONTENT), async (req, reply) => {
      const { scope } = await scoped(req);
      await removeAsset(h, scope, req.params.id, origin(req, h));
      reply.status(204);
    });

    app.put<One & { Params: { locale: string } }>(`${base}/assets/:id/files/:locale/process`, contentfulDoc(`${base}/assets/:id/files/:locale/process`, "Process an asset's file (a no-op: Herald stores files as uploaded)", NO_CONTENT), async (req, reply) => {
      const { scope } = await scoped(req);
      await processAsset(h, scope, req.params.id, req.params.locale, origin(req, h));
      reply.status(204);
    });

    app.put<One>(`${base}/assets/:id/published`, contentfulDoc(`${base}/assets/:id/published`, 'Publish an asset'), async (req) => {
      const { scope, ctx } = await scoped(req);
      // `{ add | remove: { fields: { '*': [locales] } } }`: the client's publish / unpublish with locales.
      const body = req.body as { remove?: unknown } | null;
      if (body && typeof body === 'object' && body.remove !== undefined) return unpublishAssetFrom(h, scope, ctx, req.params.id, origin(req, h), body);
      return publishAssetTo(h, scope, ctx, req.params.id, versionHeader(req), origin(req, h), body);
    });

    app.delete<One>(`${base}/assets/:id/published`, contentfulDoc(`${base}/assets/:id/published`, 'Unpublish an asset'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return unpublishAssetFrom(h, scope, ctx, req.params.id, origin(req, h));
    });

    app.put<One>(`${base}/assets/:id/archived`, contentfulDoc(`${base}/assets/:id/archived`, 'Archive an asset'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return archiveAsset(h, scope, ctx, req.params.id, true, origin(req, h));
    });

    app.delete<One>(`${base}/assets/:id/archived`, contentfulDoc(`${base}/assets/:id/archived`, 'Unarchive an asset'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return archiveAsset(h, scope, ctx, req.params.id, false, origin(req, h));
    });
  }

}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createType, deleteType, findType, presentType, queryTypes, publishType, requireType, unpublishType, updateType } from '../../contentful/content-types.ts';
import { listContentTypes } from '../../content/content-types.ts';
import { getEditorInterface, listEditorInterfaces, putEditorInterface } from '../../contentful/editor-interfaces.ts';
import { MASTER_ENVIRONMENT, type SysContext } from '../../contentful/entities.ts';
import { deleteTag, getTag, listTags, putTag } from '../../contentful/tags.ts';
import { archiveEntry, createEntryFrom, entryExists, getEntry, listEntries, publishEntryTo, removeEntry, saveEntry, unpublishEntryFrom } from '../../contentful/entries.ts';
import { collection, CONTENTFUL_ID, headerValue, simpleList, spaceScope, versionHeader, noQuery } from '../contentful.ts';
import { isObject } from '../../content/guards.ts';
import { parseFlag } from '../../content/read-query.ts';
import { invalid } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Q = Record<string, string | undefined>;
type Env = { Params: { space: string; env?: string }; Querystring: Q };
type One = { Params: { space: string; env?: string; id: string }; Querystring: Q };

/**
 * Content types and entries in the Contentful dialect (src/contentful/content-types.ts and
 * entries.ts map them onto the same content as /v3). Each path exists under
 * `/spaces/:space/environments/:env` and, for scripts written before environments, directly
 * under `/spaces/:space` (the `master` environment).
 *
 *   content_types         POST (id made from the name), GET; /:id GET, PUT (create with that id,
 *                         or update with X-Contentful-Version), DELETE; /:id/published PUT, DELETE
 *   public/content_types  GET: as last activated (activatedTypes)
 *   editor_interfaces     GET; content_types/:id/editor_interface GET, PUT (X-Contentful-Version)
 *   tags                  GET; /:id GET, PUT (make with that id, or rename), DELETE
 *   entries               POST (X-Contentful-Content-Type), GET (the search parameters of
 *                         src/contentful/query.ts); /:id GET, PUT (create with that id, or update
 *                         with X-Contentful-Version; ?auto_save=true or
 *                         x-herald-auto-save: true records auto_save), DELETE;
 *                         /:id/published PUT, DELETE; /:id/archived PUT, DELETE
 */
export default function contentfulContentRoutes(app: FastifyInstance, h: Herald) {
  const scoped = async (req: FastifyRequest<{ Params: { space: string; env?: string } }>) => {
    const env = req.params.env ?? MASTER_ENVIRONMENT;
    const scope = await spaceScope(h, req, req.params.space, env);
    const ctx: SysContext = { spaceId: scope.api_key, environmentId: env };
    return { scope, ctx };
  };

  for (const base of ['/spaces/:space/environments/:env', '/spaces/:space']) {
    // Content types
    app.post<Env>(`${base}/content_types`, contentfulDoc(`${base}/content_types`, 'Create a content type (its id made from its name)', CREATED), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      reply.status(201);
      return createType(h, scope, ctx, undefined, req.body);
    });

    app.get<Env>(`${base}/content_types`, contentfulDoc(`${base}/content_types`, 'List content types (Contentful search parameters)'), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = await queryTypes(h.db, scope, ctx, req.query);
      return collection(items, page, total);
    });

    app.get<Env>(
      `${base}/public/content_types`,
      contentfulDoc(`${base}/public/content_types`, 'List content types as last activated, drafts left out (a type made through /v3 as it is)'),
      async (req) => {
        const { scope, ctx } = await scoped(req);
        const { items, total, page } = await queryTypes(h.db, scope, ctx, req.query, true);
        return collection(items, page, total);
      },
    );

    app.get<One>(`${base}/content_types/:id`, { ...contentfulDoc(`${base}/content_types/:id`, 'Get a content type'), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return presentType(h.db, scope, ctx, await requireType(h.db, scope, req.params.id));
    });

    app.put<One>(`${base}/content_types/:id`, contentfulDoc(`${base}/content_types/:id`, 'Update a content type (X-Contentful-Version), or create one with this id'), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const sent = versionHeader(req);
      // Contentful's create-with-id: a PUT without a version (or version 0) to an id that does not exist yet.
      if ((sent === null || sent === 0) && !(await findType(h.db, scope, req.params.id))) {
        if (!CONTENTFUL_ID.test(req.params.id)) throw invalid('sys.id', 'must be letters, digits, ".", "-" and "_" (at most 64)');
        reply.status(201);
        return createType(h, scope, ctx, req.params.id, req.body);
      }
      return updateType(h, scope, ctx, req.params.id, sent, req.body);
    });

    app.delete<One>(`${base}/content_types/:id`, contentfulDoc(`${base}/content_types/:id`, 'Delete a content type', NO_CONTENT), async (req, reply) => {
      const { scope } = await scoped(req);
      await deleteType(h, scope, req.params.id);
      reply.status(204);
    });

    app.put<One>(`${base}/content_types/:id/published`, contentfulDoc(`${base}/content_types/:id/published`, 'Publish (activate) a content type'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return publishType(h, scope, ctx, req.params.id, versionHeader(req));
    });

    app.delete<One>(`${base}/content_types/:id/published`, contentfulDoc(`${base}/content_types/:id/published`, 'Unpublish (deactivate) a content type'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return unpublishType(h, scope, ctx, req.params.id);
    });

    // Editor interfaces (kept for Contentful's tools; Herald's web app does not read them)
    app.get<Env>(`${base}/editor_interfaces`, contentfulDoc(`${base}/editor_interfaces`, "Every content type's editor interface"), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = simpleList(req.query, await listEditorInterfaces(h.db, scope, ctx, await listContentTypes(h.db, scope)));
      return collection(items, page, total);
    });

    app.get<One>(`${base}/content_types/:id/editor_interface`, { ...contentfulDoc(`${base}/content_types/:id/editor_interface`, "A content type's editor interface"), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return getEditorInterface(h.db, scope, ctx, req.params.id);
    });

    app.put<One>(`${base}/content_types/:id/editor_interface`, contentfulDoc(`${base}/content_types/:id/editor_interface`, "Save a content type's editor interface (X-Contentful-Version)"), async (req) => {
      const { scope, ctx } = await scoped(req);
      return putEditorInterface(h.db, scope, ctx, req.params.id, versionHeader(req), req.body);
    });

    // Tags
    app.get<Env>(`${base}/tags`, contentfulDoc(`${base}/tags`, 'The tags of the environment (made ones, and ids content carries)'), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = simpleList(req.query, await listTags(h.db, scope, ctx));
      return collection(items, page, total);
    });

    app.get<One>(`${base}/tags/:id`, { ...contentfulDoc(`${base}/tags/:id`, 'One tag'), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return getTag(h.db, scope, ctx, req.params.id);
    });

    app.put<One>(`${base}/tags/:id`, contentfulDoc(`${base}/tags/:id`, 'Make a tag with this id, or rename it (X-Contentful-Version)'), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      if (!CONTENTFUL_ID.test(req.params.id)) throw invalid('sys.id', 'must be letters, digits, ".", "-" and "_" (at most 64)');
      const { tag, created } = await putTag(h.db, scope, ctx, req.params.id, versionHeader(req), req.body, headerValue(req, 'x-contentful-tag-visibility'));
      if (created) reply.status(201);
      return tag;
    });

    app.delete<One>(`${base}/tags/:id`, contentfulDoc(`${base}/tags/:id`, 'Delete a tag (content keeps the id)', NO_CONTENT), async (req, reply) => {
      const { scope } = await scoped(req);
      await deleteTag(h.db, scope, req.params.id, versionHeader(req));
      reply.status(204);
    });

    // Entries
    app.post<Env>(`${base}/entries`, contentfulDoc(`${base}/entries`, 'Create an entry (X-Contentful-Content-Type)', CREATED), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const entry = await createEntryFrom(h, scope, ctx, headerValue(req, 'x-contentful-content-type'), req.body);
      reply.status(201);
      return entry;
    });

    app.get<Env>(`${base}/entries`, contentfulDoc(`${base}/entries`, 'List entries (Contentful search parameters: content_type, sys.*, fields.*, query, order, select, skip, limit)'), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = await listEntries(h, scope, ctx, req.query);
      return collection(items, page, total);
    });

    app.get<One>(`${base}/entries/:id`, { ...contentfulDoc(`${base}/entries/:id`, 'Get an entry'), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return getEntry(h, scope, ctx, req.params.id);
    });

    // auto_save is Herald's own (it records an auto_save, not an update): the one query parameter a write takes (checkWriteQueries).
    app.put<One>(`${base}/entries/:id`, { ...contentfulDoc(`${base}/entries/:id`, 'Update an entry (X-Contentful-Version; ?auto_save=true records an auto_save), or create one with this id (X-Contentful-Content-Type)'), config: { query: ['auto_save'] } }, async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const sent = versionHeader(req);
      // Contentful's create-with-id: a PUT without a version (or version 0) to an id no entry has.
      if ((sent === null || sent === 0) && !(await entryExists(h.db, scope, req.params.id))) {
        if (!CONTENTFUL_ID.test(req.params.id)) throw invalid('sys.id', 'must be letters, digits, ".", "-" and "_" (at most 64)');
        const entry = await createEntryFrom(h, scope, ctx, headerValue(req, 'x-contentful-content-type'), req.body, req.params.id);
        reply.status(201);
        return entry;
      }
      const header = headerValue(req, 'x-herald-auto-save');
      const autoSave = parseFlag(req.query.auto_save, 'auto_save') || parseFlag(header, 'x-herald-auto-save');
      return saveEntry(h, scope, ctx, req.params.id, sent, req.body, autoSave);
    });

    app.delete<One>(`${base}/entries/:id`, contentfulDoc(`${base}/entries/:id`, 'Delete an entry', NO_CONTENT), async (req, reply) => {
      const { scope } = await scoped(req);
      await removeEntry(h, scope, req.params.id);
      reply.status(204);
    });

    app.put<One>(`${base}/entries/:id/published`, contentfulDoc(`${base}/entries/:id/published`, 'Publish an entry'), async (req) => {
      const { scope, ctx } = await scoped(req);
      // `{ remove: { fields: { '*': [locales] } } }` unpublishes those locales (the client's unpublish with locales).
      if (isObject(req.body) && req.body.remove !== undefined) return unpublishEntryFrom(h, scope, ctx, req.params.id, req.body);
      return publishEntryTo(h, scope, ctx, req.params.id, versionHeader(req), req.body);
    });

    app.delete<One>(`${base}/entries/:id/published`, contentfulDoc(`${base}/entries/:id/published`, 'Unpublish an entry'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return unpublishEntryFrom(h, scope, ctx, req.params.id, undefined);
    });

    app.put<One>(`${base}/entries/:id/archived`, contentfulDoc(`${base}/entries/:id/archived`, 'Archive an entry'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return archiveEntry(h, scope, ctx, req.params.id, true);
    });

    app.delete<One>(`${base}/entries/:id/archived`, contentfulDoc(`${base}/entries/:id/archived`, 'Unarchive an entry'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return archiveEntry(h, scope, ctx, req.params.id, false);
    });
  }
}

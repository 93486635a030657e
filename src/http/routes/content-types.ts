import type { FastifyInstance } from 'fastify';
import { createContentType, deleteContentType, listContentTypes, requireContentType, updateContentType, type ContentTypeDoc } from '../../content/content-types.ts';
import { bodyField } from '../../content/field-errors.ts';
import { withoutGlobalFieldSchemas } from '../../content/global-fields.ts';
import { parseFlag } from '../../content/read-query.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, CREATED, Envelope, Flag, Query, TAGS, Text, UID } from '../schemas.ts';
import { HeraldError } from '../../errors.ts';
import { branchOn, branchOnOne, INCLUDE_BRANCH } from '../include-branch.ts';

/**
 * `include_global_field_schema`: global_field fields carry their global field's schema, as with
 * Contentstack's; without it they carry their `reference_to` only.
 */
const CT_READ = { include_global_field_schema: Flag("global_field fields carry their global field's schema"), ...INCLUDE_BRANCH };

/**
 * A content type's DELETE takes Contentstack's `force`: `false` is the default, and what csdx's
 * migration (`deleteContentType`) always sends. `true` is a 422 naming it: Contentstack's reference
 * says only that it force-deletes (its wording does not say what beyond the entries it removes),
 * and Herald refuses (409) to delete a content type that has entries, so a receiver never gets a
 * content type's deletion without each entry's.
 */
const FORCE = Query({ force: Text('false (the default); true is refused (422): delete the entries first', { enum: ['false', 'true'] }) });

/** A content type as the management API shows it (see CT_READ). */
function present(ct: ContentTypeDoc, q: Record<string, string | undefined>): ContentTypeDoc {
  return parseFlag(q.include_global_field_schema, 'include_global_field_schema') ? ct : { ...ct, schema: withoutGlobalFieldSchemas(ct.schema) };
}

/** Content types (Contentstack CMA `/v3/content_types`). */
export default function contentTypeRoutes(app: FastifyInstance, h: Herald) {
  app.post<{ Querystring: Record<string, string | undefined> }>('/v3/content_types', doc(TAGS.contentTypes, 'Create a content type', { querystring: Query(INCLUDE_BRANCH), body: Envelope('content_type', 'title, uid, schema: [fields]'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const content_type = branchOnOne(await createContentType(h, scope, bodyField(req.body, 'content_type')), req.query, scope.branch);
    reply.status(201);
    return { notice: 'Content Type created successfully.', content_type };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/content_types', doc(TAGS.contentTypes, 'List content types', { querystring: ListQuery(CT_READ) }), async (req) => {
    const scope = await h.scope(req);
    return presentList('content_types', branchOn((await listContentTypes(h.db, scope)).map((ct) => present(ct, req.query)), req.query, scope.branch), { asc: 'created_at', ...req.query });
  });

  app.get<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/content_types/:uid', doc(TAGS.contentTypes, 'Get a content type', { params: UID, querystring: Query(CT_READ) }), async (req) => {
    const scope = await h.scope(req);
    return { content_type: branchOnOne(present(await requireContentType(h.db, scope, req.params.uid), req.query), req.query, scope.branch) };
  });

  app.put<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/content_types/:uid', doc(TAGS.contentTypes, 'Update a content type', { params: UID, querystring: Query(INCLUDE_BRANCH), body: Envelope('content_type', 'the fields to change') }), async (req) => {
    const scope = await h.scope(req);
    const content_type = branchOnOne(await updateContentType(h, scope, req.params.uid, bodyField(req.body, 'content_type')), req.query, scope.branch);
    return { notice: 'Content Type updated successfully.', content_type };
  });

  app.delete<{ Params: { uid: string }; Querystring: { force?: string } }>('/v3/content_types/:uid', doc(TAGS.contentTypes, 'Delete a content type (refused while it has entries)', { params: UID, querystring: FORCE }), async (req) => {
    if (req.query.force === 'true') {
      throw new HeraldError('validation_failed', "force=true is not supported on DELETE /v3/content_types/:uid: Herald does not delete a content type's entries with it; delete them first, then the content type.", {
        errors: { force: ['true is not supported: delete the entries first'] },
      });
    }
    const scope = await h.scope(req);
    await deleteContentType(h, scope, req.params.uid);
    return { notice: 'Content Type deleted successfully.' };
  });
}


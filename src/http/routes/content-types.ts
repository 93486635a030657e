import type { FastifyInstance } from 'fastify';
import { createContentType, listContentTypes, requireContentType, updateContentType, type ContentTypeDoc } from '../../content/content-types.ts';
import { deleteContentTypeWithEntries } from '../../content/entries.ts';
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
 * A content type's DELETE deletes its entries with it, as Contentstack's ("Deletes an existing
 * content type and all the entries within it"): each entry's delete event, then the type's, in one
 * transaction. `force`: `false` is the default and what csdx's migration (`deleteContentType`)
 * always sends; `true` is what its `.force(true)` and the SDK's `delete({ force: true })` send, and
 * Contentstack's reference says only "force delete". Both delete the same; neither deletes a type
 * another content type or a global field references (409 naming them, and `force` when it was
 * sent), since their reference fields would name a type that no longer exists.
 */
const FORCE = Query({ force: Text('false (the default) or true: either way the entries go with the type; a referenced type is refused (409)', { enum: ['false', 'true'] }) });

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

  app.delete<{ Params: { uid: string }; Querystring: { force?: string } }>('/v3/content_types/:uid', doc(TAGS.contentTypes, 'Delete a content type and its entries', { params: UID, querystring: FORCE }), async (req) => {
    const scope = await h.scope(req);
    try {
      await deleteContentTypeWithEntries(h, scope, req.params.uid);
    } catch (err) {
      // A referenced type: say that force=true does not override it (the referrers' fields first).
      if (req.query.force === 'true' && err instanceof HeraldError && err.code === 'conflict') {
        throw new HeraldError('conflict', `${err.message} force=true does not delete a content type others reference.`, { errors: { ...err.errors, force: ['true does not delete a referenced content type'] } });
      }
      throw err;
    }
    return { notice: 'Content Type deleted successfully.' };
  });
}

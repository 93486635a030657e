import { getContentType, listContentTypes, type ContentTypeDoc } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { notFound } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { contentTypeId } from './entities.ts';
import { heraldUid } from './schema.ts';

/** The content type with Contentful id `id` in the scope's branch. */
export async function findType(q: Queryable, scope: Scope, id: string): Promise<ContentTypeDoc | undefined> {
  const direct = await getContentType(q, scope, heraldUid(id));
  if (direct && contentTypeId(direct) === id) return direct;
  return (await listContentTypes(q, scope)).find((ct) => contentTypeId(ct) === id);
}

export async function requireType(q: Queryable, scope: Scope, id: string): Promise<ContentTypeDoc> {
  const ct = await findType(q, scope, id);
  if (!ct) throw notFound(`Content type ${id}`);
  return ct;
}

import type { Scope } from '../content/context.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, notFound, type FieldErrors } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { link, type SysContext } from './entities.ts';
import { validationFailed, versionMismatch } from './errors.ts';

/**
 * Tags (`/environments/{env}/tags`). Entries and assets carry tag ids (Herald's `tags`, shown as
 * `metadata.tags` Links); a tag made here adds a name and a visibility (table contentful_tags).
 * The list is truthful about both: every tag made here, and every id content carries that was
 * never made as a tag, shown with its id as name and `sys.version: 0` (never saved: a PUT with
 * version 0 or none names it). Tags belong to one environment (branch), as Contentful's.
 */

interface TagRow {
  id: string;
  name: string;
  visibility: string;
  version: number;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
}

/** A tag as the APIs show it. */
export type TagEntity = ReturnType<typeof present>;

function present(r: TagRow, ctx: SysContext) {
  const at = (ms: number) => new Date(Number(ms)).toISOString();
  return {
    sys: {
      id: r.id,
      type: 'Tag',
      version: Number(r.version),
      visibility: r.visibility,
      space: link('Space', ctx.spaceId),
      environment: link('Environment', ctx.environmentId),
      createdBy: link('User', r.created_by),
      updatedBy: link('User', r.updated_by),
      createdAt: at(r.created_at),
      updatedAt: at(r.updated_at),
    },
    name: r.name,
  };
}

async function stored(q: Queryable, scope: Scope, id: string): Promise<TagRow | undefined> {
  return q.get<TagRow>('SELECT id, name, visibility, version, created_by, updated_by, created_at, updated_at FROM contentful_tags WHERE api_key = ? AND branch = ? AND id = ?', [
    scope.api_key,
    scope.branch,
    id,
  ]);
}

/** Tag ids carried by the branch's entries and assets, with the earliest time each was seen. */
async function carried(q: Queryable, scope: Scope): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const table of ['entries', 'assets']) {
    const rows = await q.all<{ doc: string; created_at: number }>(`SELECT doc, created_at FROM ${table} WHERE api_key = ? AND branch = ?`, [scope.api_key, scope.branch]);
    for (const r of rows) {
      const tags = json<{ tags?: unknown }>(r.doc).tags;
      if (!Array.isArray(tags)) continue;
      for (const t of tags) if (typeof t === 'string' && !(out.get(t)! <= Number(r.created_at))) out.set(t, Number(r.created_at));
    }
  }
  return out;
}

/** Every tag of the environment, made ones first (oldest first), then carried-only ones by id. */
export async function listTags(q: Queryable, scope: Scope, ctx: SysContext) {
  const made = await q.all<TagRow>(
    'SELECT id, name, visibility, version, created_by, updated_by, created_at, updated_at FROM contentful_tags WHERE api_key = ? AND branch = ? ORDER BY created_at, id',
    [scope.api_key, scope.branch],
  );
  const known = new Set(made.map((t) => t.id));
  const implicit = [...(await carried(q, scope))]
    .filter(([id]) => !known.has(id))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, at]): TagRow => ({ id, name: id, visibility: 'private', version: 0, created_by: 'system', updated_by: 'system', created_at: at, updated_at: at }));
  return [...made, ...implicit].map((r) => present(r, ctx));
}

/**
 * The tags the delivery and preview APIs serve: made ones with visibility `public`, oldest first
 * (Contentful: "Only tags with visibility public are accessible via the delivery and preview
 * APIs"; private ones, and ids content carries that were never made as a tag, are the CMA's only).
 */
export async function publicTags(q: Queryable, scope: Scope, ctx: SysContext) {
  const rows = await q.all<TagRow>(
    "SELECT id, name, visibility, version, created_by, updated_by, created_at, updated_at FROM contentful_tags WHERE api_key = ? AND branch = ? AND visibility = 'public' ORDER BY created_at, id",
    [scope.api_key, scope.branch],
  );
  return rows.map((r) => present(r, ctx));
}

export async function getTag(q: Queryable, scope: Scope, ctx: SysContext, id: string) {
  const r = await stored(q, scope, id);
  if (r) return present(r, ctx);
  const at = (await carried(q, scope)).get(id);
  if (at === undefined) throw notFound(`Tag ${id}`);
  return present({ id, name: id, visibility: 'private', version: 0, created_by: 'system', updated_by: 'system', created_at: at, updated_at: at }, ctx);
}

/**
 * `header`: X-Contentful-Tag-Visibility, which Contentful's "Create a tag" takes for the visibility
 * and lets override the body's `sys.visibility` (contentful-management sends both).
 */
function parse(raw: unknown, header?: string): { name: string; visibility?: string } {
  const errors: FieldErrors = fieldErrors();
  if (!isObject(raw)) throw validationFailed(Object.assign(fieldErrors(), { body: ['must be a tag: { "name": ..., "sys": { "visibility": "private" } }'] }));
  for (const k of Object.keys(raw)) if (k !== 'name' && k !== 'sys') errors[k] = ['is not a field of tags'];
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  if (name === '' || name.length > 64) errors.name = ['is required: at most 64 characters'];
  if (header !== undefined && header !== 'private' && header !== 'public') errors['X-Contentful-Tag-Visibility'] = ['must be private or public'];
  const visibility = header ?? (isObject(raw.sys) ? raw.sys.visibility : undefined);
  if (header === undefined && visibility !== undefined && visibility !== 'private' && visibility !== 'public') errors['sys.visibility'] = ['must be private or public'];
  if (Object.keys(errors).length) throw validationFailed(errors);
  return { name, ...(visibility !== undefined ? { visibility: visibility as string } : {}) };
}

async function nameTaken(tx: Tx, scope: Scope, id: string, name: string) {
  const other = await tx.get('SELECT 1 AS ok FROM contentful_tags WHERE api_key = ? AND branch = ? AND name = ? AND id <> ?', [scope.api_key, scope.branch, name, id]);
  if (other) throw validationFailed(Object.assign(fieldErrors(), { name: [`is taken: another tag of this environment is named ${JSON.stringify(name)}`] }));
}

/**
 * `PUT .../tags/{id}`: makes the tag (no version, or 0) or renames it (`X-Contentful-Version`,
 * stale: 409). Visibility is chosen when the tag is made (X-Contentful-Tag-Visibility, else the body's
 * `sys.visibility`, else private) and cannot change.
 * Returns the tag and whether it was made.
 */
export async function putTag(
  db: { tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> },
  scope: Scope,
  ctx: SysContext,
  id: string,
  sent: number | null,
  raw: unknown,
  visibilityHeader?: string,
) {
  const input = parse(raw, visibilityHeader);
  return db.tx(async (tx) => {
    const current = await stored(tx, scope, id);
    const now = Date.now();
    await nameTaken(tx, scope, id, input.name);
    if (!current) {
      if (sent !== null && sent !== 0) throw versionMismatch('the tag', sent, 0);
      await tx.run(
        'INSERT INTO contentful_tags (api_key, branch, id, name, visibility, version, created_by, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)',
        [scope.api_key, scope.branch, id, input.name, input.visibility ?? 'private', scope.caller.actor, scope.caller.actor, now, now],
      );
      return { tag: present((await stored(tx, scope, id))!, ctx), created: true };
    }
    if (sent !== Number(current.version)) throw versionMismatch('the tag', sent, Number(current.version));
    if (input.visibility !== undefined && input.visibility !== current.visibility) {
      throw validationFailed(Object.assign(fieldErrors(), { 'sys.visibility': ['cannot change once the tag is made'] }));
    }
    await tx.run('UPDATE contentful_tags SET name = ?, version = version + 1, updated_by = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND id = ?', [
      input.name,
      scope.caller.actor,
      now,
      scope.api_key,
      scope.branch,
      id,
    ]);
    return { tag: present((await stored(tx, scope, id))!, ctx), created: false };
  });
}

/** `DELETE .../tags/{id}` (`X-Contentful-Version` must be current). Content carrying the id keeps it. */
export async function deleteTag(db: { tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> }, scope: Scope, id: string, sent: number | null) {
  await db.tx(async (tx) => {
    const current = await stored(tx, scope, id);
    if (!current) throw notFound(`Tag ${id}`);
    if (sent !== null && sent !== Number(current.version)) throw versionMismatch('the tag', sent, Number(current.version));
    await tx.run('DELETE FROM contentful_tags WHERE api_key = ? AND branch = ? AND id = ?', [scope.api_key, scope.branch, id]);
  });
}

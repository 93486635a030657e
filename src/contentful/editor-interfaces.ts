import type { ContentTypeDoc } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, notFound, type FieldErrors } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { requireType } from './type-lookup.ts';
import { contentfulFieldDef, contentTypeId, link, type SysContext } from './entities.ts';
import { validationFailed, versionMismatch } from './errors.ts';

/**
 * Editor interfaces (`/content_types/{id}/editor_interface`): how Contentful's web app edits a
 * content type's fields. Herald's web app builds its editor from the content type, so Herald keeps
 * them only to give them back (table contentful_editor_interfaces): what a PUT saved is what a
 * GET shows, and what the export and import tools carry from space to space.
 *
 * As Contentful's: a content type has one from its first publish (until then a GET is a 404, and
 * a PUT at version 0 makes it), and each publish of the content type is a new version of it that
 * gives new fields their default control and drops the controls of fields gone (the migration
 * tool counts on that version). Never saved, it shows Contentful's default (one builtin control
 * per field) at the version the publishes made.
 */

/** Contentful's default widget of a field. */
function defaultWidget(def: Record<string, unknown>): string {
  const items = (def.items ?? {}) as Record<string, unknown>;
  switch (def.type) {
    case 'Symbol':
      return 'singleLine';
    case 'Text':
      return 'markdown';
    case 'Integer':
    case 'Number':
      return 'numberEditor';
    case 'Date':
      return 'datePicker';
    case 'Boolean':
      return 'boolean';
    case 'Location':
      return 'locationEditor';
    case 'RichText':
      return 'richTextEditor';
    case 'Link':
      return def.linkType === 'Asset' ? 'assetLinkEditor' : 'entryLinkEditor';
    case 'Array':
      if (items.type === 'Link') return items.linkType === 'Asset' ? 'assetLinksEditor' : 'entryLinksEditor';
      return 'tagEditor';
    default:
      return 'objectEditor';
  }
}

interface Row {
  version: number;
  doc: string;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
}

async function stored(q: Queryable, scope: Scope, uid: string): Promise<Row | undefined> {
  return q.get<Row>('SELECT version, doc, created_by, updated_by, created_at, updated_at FROM contentful_editor_interfaces WHERE api_key = ? AND branch = ? AND content_type_uid = ?', [
    scope.api_key,
    scope.branch,
    uid,
  ]);
}

/** Default controls for the fields of `ct` that `controls` lacks; controls of fields gone are dropped. */
function syncControls(ct: ContentTypeDoc, controls: unknown[]): unknown[] {
  const ids = ct.schema.map((f) => contentfulFieldDef(f));
  const kept = controls.filter((c) => isObject(c) && ids.some((d) => d.id === c.fieldId));
  const added = ids.filter((d) => !kept.some((c) => (c as Record<string, unknown>).fieldId === d.id)).map((d) => ({ fieldId: d.id, widgetId: defaultWidget(d), widgetNamespace: 'builtin' }));
  return [...kept, ...added];
}

/** How often the dialect published the content type (0: never; it has no editor interface yet). */
async function publishCount(q: Queryable, scope: Scope, uid: string): Promise<number> {
  const r = await q.get<{ n: number }>('SELECT published_counter AS n FROM contentful_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]);
  return r ? Number(r.n) : 0;
}

function present(ct: ContentTypeDoc, ctx: SysContext, row: Row | undefined, virtualVersion: number) {
  const at = (ms: number) => new Date(Number(ms)).toISOString();
  const body = row ? json<Record<string, unknown>>(row.doc) : { controls: syncControls(ct, []) };
  return {
    sys: {
      id: 'default',
      type: 'EditorInterface',
      version: row ? Number(row.version) : virtualVersion,
      space: link('Space', ctx.spaceId),
      environment: link('Environment', ctx.environmentId),
      contentType: link('ContentType', contentTypeId(ct)),
      createdAt: row ? at(row.created_at) : ct.created_at,
      updatedAt: row ? at(row.updated_at) : ct.updated_at,
      createdBy: link('User', row ? row.created_by : ct.created_by),
      updatedBy: link('User', row ? row.updated_by : ct.updated_by),
    },
    ...body,
  };
}

export async function getEditorInterface(q: Queryable, scope: Scope, ctx: SysContext, contentTypeIdParam: string) {
  const ct = await requireType(q, scope, contentTypeIdParam);
  const row = await stored(q, scope, ct.uid);
  const published = await publishCount(q, scope, ct.uid);
  if (!row && published === 0) throw notFound(`The editor interface of content type ${contentTypeIdParam} (it is made when the content type is first published)`);
  return present(ct, ctx, row, published);
}

/** Every content type's editor interface in the environment (those that have one). */
export async function listEditorInterfaces(q: Queryable, scope: Scope, ctx: SysContext, types: ContentTypeDoc[]) {
  const out = [];
  for (const ct of types) {
    const row = await stored(q, scope, ct.uid);
    const published = await publishCount(q, scope, ct.uid);
    if (row || published > 0) out.push(present(ct, ctx, row, published));
  }
  return out;
}

/** A publish of the content type: its saved editor interface moves to a new version with the fields' controls brought in line. */
export async function onTypePublished(tx: Tx, scope: Scope, ct: ContentTypeDoc): Promise<void> {
  const row = await stored(tx, scope, ct.uid);
  if (!row) return;
  const doc = json<Record<string, unknown>>(row.doc);
  doc.controls = syncControls(ct, Array.isArray(doc.controls) ? doc.controls : []);
  await tx.run('UPDATE contentful_editor_interfaces SET doc = ?, version = version + 1, updated_at = ? WHERE api_key = ? AND branch = ? AND content_type_uid = ?', [
    JSON.stringify(doc),
    Date.now(),
    scope.api_key,
    scope.branch,
    ct.uid,
  ]);
}

/** The parts of an editor interface Herald keeps, checked: controls name fields of the content type. */
function parse(raw: unknown, ct: ContentTypeDoc): Record<string, unknown> {
  const errors: FieldErrors = fieldErrors();
  if (!isObject(raw)) throw validationFailed(Object.assign(fieldErrors(), { body: ['must be an editor interface: { "controls": [...] }'] }));
  const kept = ['controls', 'sidebar', 'editor', 'editors', 'groupControls', 'editorLayout'];
  for (const k of Object.keys(raw)) if (k !== 'sys' && !kept.includes(k)) errors[k] = ['is not a part of editor interfaces'];
  const ids = new Set(ct.schema.map((f) => contentfulFieldDef(f).id as string));
  const controls = raw.controls ?? [];
  if (!Array.isArray(controls)) errors.controls = ['must be a list of { fieldId, widgetId }'];
  else
    controls.forEach((c, i) => {
      if (!isObject(c) || typeof c.fieldId !== 'string') errors[`controls.${i}.fieldId`] = ['is required'];
      else if (!ids.has(c.fieldId)) errors[`controls.${i}.fieldId`] = [`names ${JSON.stringify(c.fieldId)}, which is not a field of content type ${contentTypeId(ct)}`];
    });
  for (const k of ['sidebar', 'editors', 'groupControls', 'editorLayout']) if (raw[k] !== undefined && !Array.isArray(raw[k])) errors[k] = ['must be a list'];
  if (raw.editor !== undefined && !isObject(raw.editor)) errors.editor = ['must be an object'];
  if (Object.keys(errors).length) throw validationFailed(errors);
  const out: Record<string, unknown> = { controls };
  for (const k of kept) if (k !== 'controls' && raw[k] !== undefined) out[k] = raw[k];
  return out;
}

/** `PUT .../editor_interface` with `X-Contentful-Version` (stale: 409). */
export async function putEditorInterface(db: { tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> }, scope: Scope, ctx: SysContext, contentTypeIdParam: string, sent: number | null, raw: unknown) {
  return db.tx(async (tx) => {
    const ct = await requireType(tx, scope, contentTypeIdParam);
    const current = await stored(tx, scope, ct.uid);
    const version = current ? Number(current.version) : await publishCount(tx, scope, ct.uid);
    if (sent !== version) throw versionMismatch('the editor interface', sent, version);
    const doc = JSON.stringify(parse(raw, ct));
    const now = Date.now();
    if (current) {
      await tx.run('UPDATE contentful_editor_interfaces SET doc = ?, version = version + 1, updated_by = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND content_type_uid = ?', [
        doc,
        scope.caller.actor,
        now,
        scope.api_key,
        scope.branch,
        ct.uid,
      ]);
    } else {
      await tx.run(
        'INSERT INTO contentful_editor_interfaces (api_key, branch, content_type_uid, version, doc, created_by, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [scope.api_key, scope.branch, ct.uid, version + 1, doc, scope.caller.actor, scope.caller.actor, now, now],
      );
    }
    return present(ct, ctx, await stored(tx, scope, ct.uid), 0);
  });
}

import { contentfulDefinition, contentfulFields, fieldMeta, link, type StoredContentType } from '../../contentful/entities.ts';
import type { Field } from './remap.ts';
import { heraldUid } from '../../contentful/schema.ts';
import { HeraldError } from '../../errors.ts';
import type { ContentfulState } from '../source.ts';
import type { Step } from './step.ts';
import type { Target } from './target.ts';

/**
 * Restoring what the Contentful dialect keeps of a branch beyond its content, from the state the
 * backup last read through the dialect at catch-up (ContentfulState), written back through the
 * dialect's API as its tools would:
 *
 * - a content type activated at the source is activated in the target (`PUT .../published`); when
 *   it changed since its activation, the activated definition is saved and activated first, then
 *   the restored definition saved over it through /v3, so both come back (public/content_types
 *   and the CDA show the first, the CMA the second);
 * - a draft at the source (made through the dialect and never activated, or deactivated) is made a
 *   draft in the target: through the dialect (`PUT .../content_types/{id}`, which makes drafts), then
 *   saved through /v3 exactly as the backup holds it where the dialect's reading differs (makeDraft).
 *   No activation: the source never activated it (or deactivated it), so content type webhooks hear
 *   its making (and that save) only, as at the source. One the dialect refuses is made through /v3
 *   and activated and deactivated (two events), refused once it has entries (a warning); a content
 *   type made through /v3 stays as it is;
 * - a content type the state lacks (deleted at the source, made since the last catch-up, or a
 *   backup older than its migration 004) gets the activation its history tells
 *   (activationFromHistory), with a warning that its editor interface is not in the backup;
 * - an editor interface saved at the source is saved (`PUT .../editor_interface`) where the target's
 *   differs;
 * - a tag made at the source (`sys.version` > 0) is made with its name and visibility when the
 *   target lacks it; ids content merely carries need nothing (entries and assets carry them).
 *
 * Only content types this restore made get their activation and editor interface: one the target
 * had is left as it is, as its content is. `sys.version`, `sys.publishedCounter` and the times are
 * the target's own (see docs/backup-format.md).
 */

/** A content type as the dialect lists it (the parts compared and sent back). */
interface TypeItem {
  sys: { id: string; version?: number; publishedVersion?: number };
  name?: string;
  description?: string;
  displayField?: string | null;
  fields?: unknown[];
}

/** The parts of an editor interface a PUT saves (src/contentful/editor-interfaces.ts). */
const EDITOR_PARTS = ['controls', 'sidebar', 'editor', 'editors', 'groupControls', 'editorLayout'];

const enc = encodeURIComponent;

/** A content type's definition as Contentful compares two: what a user saved, without sys. */
export function definition(t: TypeItem): { name: unknown; description: unknown; displayField: unknown; fields: unknown } {
  return { name: t.name, description: t.description ?? '', displayField: t.displayField ?? null, fields: t.fields ?? [] };
}

function editorParts(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of EDITOR_PARTS) if (e[k] !== undefined) out[k] = e[k];
  return out;
}

/** A /v3 content type's definition as a PUT /v3/content_types/{uid} saves it. */
function v3Definition(ct: Record<string, unknown>): Record<string, unknown> {
  return { title: ct.title, description: ct.description ?? '', schema: ct.schema ?? [], options: ct.options ?? {} };
}

/**
 * The Contentful definition that makes the dialect store `ct` as it is (makeDraft): contentfulDefinition,
 * without `validations` on a field whose stored definition has none (the CMA shows `[]` for it, which
 * the dialect would store).
 */
function dialectDefinition(ct: StoredContentType) {
  const def = contentfulDefinition(ct);
  def.fields = def.fields.map((f, i) => {
    const meta = fieldMeta(ct.schema[i]);
    if (!meta || meta.validations !== undefined) return f;
    const { validations: _, ...rest } = f;
    return rest;
  });
  return def;
}

/** Same JSON, object keys in any order. */
function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/**
 * A content type's Contentful activation as the backup's history tells it: the dialect records
 * `publish` (with the definition activated) and `unpublish` events of module content_type. For one
 * the last catch-up's state lacks (deleted at the source, or made since). `activated` with the
 * activated definition (/v3's shape), `draft` (made through the dialect, or deactivated, and not
 * activated since), `none` (a /v3 content type: never a draft), or undefined when the history does
 * not reach its making (pruned from the feed before the backup read it).
 */
export type HistoryActivation = { state: 'activated'; doc: Record<string, unknown> } | { state: 'draft' } | { state: 'none' };

export function activationFromHistory(events: Array<{ seq: number; action: string; data: unknown }>, dialect: boolean): HistoryActivation | undefined {
  let state: HistoryActivation | undefined;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const doc = (e.data as { content_type?: unknown } | null)?.content_type;
    if (e.action === 'create') state = { state: dialect ? 'draft' : 'none' };
    else if (e.action === 'publish' && doc && typeof doc === 'object') state = { state: 'activated', doc: doc as Record<string, unknown> };
    else if (e.action === 'unpublish') state = { state: 'draft' };
  }
  return state;
}

export interface ContentfulRestore {
  target: Target;
  state: ContentfulState;
  /** The target's Contentful environment id. */
  environmentId: string;
  steps: Step[];
  warnings: string[];
}

export class ContentfulStateRestorer {
  private readonly base: string;
  /** The source's content types as the dialect listed them, and as last activated, by Contentful id. */
  private readonly current: Map<string, TypeItem>;
  private readonly activated: Map<string, TypeItem>;

  constructor(private readonly o: ContentfulRestore) {
    this.base = `/spaces/${enc(o.target.o.api_key)}/environments/${enc(o.environmentId)}`;
    this.current = new Map((o.state.content_types as TypeItem[]).map((t) => [t.sys.id, t]));
    this.activated = new Map((o.state.activated_content_types as TypeItem[]).map((t) => [t.sys.id, t]));
  }

  /**
   * Whether the content type `id` is a draft at the source: in the state, neither activated nor
   * delivered (a /v3 one is delivered without activation); else as its history tells.
   */
  isDraft(id: string, history: HistoryActivation | undefined): boolean {
    const source = this.current.get(id);
    if (source) return source.sys.publishedVersion === undefined && !this.activated.has(id);
    return history?.state === 'draft';
  }

  /**
   * Makes the content type `uid` (Contentful id `id`, not in the target) a draft from the start, as
   * the source made it: through the dialect with the Contentful reading of `doc` (/v3's shape), then
   * `doc` saved through /v3 where what the dialect made differs (a field or option only /v3 keeps).
   * False, with nothing made, when the dialect cannot make it (its uid is not the one the dialect
   * gives the id, or it refuses the definition): the caller makes it through /v3.
   */
  async makeDraft(uid: string, id: string, doc: Record<string, unknown>): Promise<boolean> {
    if (heraldUid(id) !== uid) return false;
    try {
      // Links name content types by uid: the dialect finds each by its Contentful id, else takes it as one to come.
      await this.send('PUT', `/content_types/${enc(id)}`, dialectDefinition(doc as unknown as StoredContentType));
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
      return false;
    }
    const made = (await this.o.target.send('GET', `/v3/content_types/${enc(uid)}`))?.content_type as Record<string, unknown>;
    if (!same(v3Definition(made), v3Definition(doc))) await this.o.target.send('PUT', `/v3/content_types/${enc(uid)}`, { content_type: v3Definition(doc) });
    return true;
  }

  private send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return this.o.target.send(method, this.base + path, body, { api: 'contentful', headers });
  }

  /**
   * Runs `write`; a refusal by the target becomes a warning (`what`: its message) and the restore
   * goes on. The target being unavailable, or a fault of the restore itself, stops it.
   */
  private async orWarn(what: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
      this.o.warnings.push(`${what}: ${err.message}`);
    }
  }

  /**
   * Activation (or draft) and editor interface of each content type this restore made (Herald uid,
   * Contentful id; `dialect`: made or changed through the Contentful dialect at the source;
   * `history`: its activation as the backup's events tell it, for one the state lacks; `draft`: made
   * a draft already, by makeDraft).
   */
  async contentTypes(made: Array<{ uid: string; id: string; dialect: boolean; history: HistoryActivation | undefined; draft: boolean }>): Promise<void> {
    for (const { uid, id, dialect, history, draft } of made) {
      const source = this.current.get(id);
      await this.orWarn(`content type ${id}: its Contentful activation could not be restored`, async () => {
        if (source?.sys.publishedVersion !== undefined) await this.activate(uid, id, source, this.activated.get(id));
        else if (source) {
          if (!this.activated.has(id)) await this.draft(id, draft);
        } else if (history?.state === 'activated') {
          await this.activateFromHistory(uid, id, history.doc);
          if (dialect) this.o.warnings.push(`content type ${id} is not in the Contentful state the backup last read (deleted at the source, or made since): its activation comes from its history, its editor interface (if it had one) is not in the backup.`);
        } else if (history?.state === 'draft') {
          await this.draft(id, draft);
          this.o.warnings.push(`content type ${id} is not in the Contentful state the backup last read (deleted at the source, or made since): it is a draft as its history tells, its editor interface (if it had one) is not in the backup.`);
        } else if (dialect && history?.state !== 'none') {
          // A backup older than its migration 004 whose history does not reach the content type's making.
          this.o.warnings.push(
            `content type ${id} was made through the Contentful dialect, but the backup holds no Contentful state of it (read at each catch-up): it is restored as /v3 makes one, delivered and not activated, without its editor interface.`,
          );
        }
      });
    }
    const interfaces = new Map((this.o.state.editor_interfaces as Array<Record<string, any>>).map((e) => [String(e.sys?.contentType?.sys?.id), e]));
    for (const { id } of made) {
      const e = interfaces.get(id);
      if (e) await this.orWarn(`content type ${id}: its editor interface could not be restored`, () => this.editorInterface(id, e));
    }
  }

  /** Activates the target's content type with the definition activated at the source. */
  private async activate(uid: string, id: string, source: TypeItem, at: TypeItem | undefined) {
    const target = (await this.send('GET', `/content_types/${enc(id)}`)) as TypeItem;
    let version = Number(target.sys.version);
    const changedSince = at && !same(definition(at), definition(source));
    let restored: Record<string, unknown> | undefined;
    if (changedSince) {
      // Save the activated definition, activate it, then put the restored definition back through
      // /v3, exactly as the restore saved it (the dialect would rebuild it from Contentful terms).
      restored = (await this.o.target.send('GET', `/v3/content_types/${enc(uid)}`))?.content_type;
      version = Number(((await this.send('PUT', `/content_types/${enc(id)}`, definition(at!), { 'x-contentful-version': String(version) })) as TypeItem).sys.version);
    }
    await this.send('PUT', `/content_types/${enc(id)}/published`, undefined, { 'x-contentful-version': String(version) });
    if (changedSince) await this.o.target.send('PUT', `/v3/content_types/${enc(uid)}`, { content_type: v3Definition(restored!) });
    this.o.steps.push({ module: 'content_type', uid: id, target_uid: id, action: 'published', ...(changedSince ? { name: String(at!.name) } : {}) });
  }

  /**
   * Activates the target's content type with `doc` (/v3's shape, from a publish event): saved through
   * /v3 when the restored definition differs, activated, and the restored one saved back.
   */
  private async activateFromHistory(uid: string, id: string, doc: Record<string, unknown>) {
    const restored = (await this.o.target.send('GET', `/v3/content_types/${enc(uid)}`))?.content_type as Record<string, unknown>;
    const changedSince = !same(v3Definition(doc), v3Definition(restored));
    if (changedSince) await this.o.target.send('PUT', `/v3/content_types/${enc(uid)}`, { content_type: v3Definition(doc) });
    const target = (await this.send('GET', `/content_types/${enc(id)}`)) as TypeItem;
    await this.send('PUT', `/content_types/${enc(id)}/published`, undefined, { 'x-contentful-version': String(target.sys.version) });
    if (changedSince) await this.o.target.send('PUT', `/v3/content_types/${enc(uid)}`, { content_type: v3Definition(restored) });
    this.o.steps.push({ module: 'content_type', uid: id, target_uid: id, action: 'published', ...(changedSince ? { name: String(doc.title) } : {}) });
  }

  /**
   * The target's content type a draft, as it was at the source: made one already (makeDraft), or one
   * made through /v3 (so delivered) activated and deactivated, the dialect's only way to a draft.
   */
  private async draft(id: string, made: boolean) {
    if (!made) {
      const target = (await this.send('GET', `/content_types/${enc(id)}`)) as TypeItem;
      await this.send('PUT', `/content_types/${enc(id)}/published`, undefined, { 'x-contentful-version': String(target.sys.version) });
      await this.send('DELETE', `/content_types/${enc(id)}/published`);
    }
    this.o.steps.push({ module: 'content_type', uid: id, target_uid: id, action: 'draft' });
  }

  /**
   * Saves one line of an entry of the content type `id` through the dialect, which keeps a draft
   * with required fields empty (Contentful checks them at publish; /v3 refuses the save): made
   * (POST .../entries) when `uid` is undefined, else that locale's values saved over (PUT with its
   * current version; the entry's other locales keep theirs). `body`: the /v3 line (remap.ts
   * entryBody). `wanted`: the id to make it with (Contentful's create-with-id, `PUT .../entries/{id}`;
   * taken: a 409 for the caller). Its Herald uid, or undefined when the dialect refuses it too.
   */
  async saveEntryLine(id: string, uid: string | undefined, locale: string, schema: Field[], body: Record<string, unknown>, wanted?: string): Promise<string | undefined> {
    const fields = contentfulFields(schema as StoredContentType['schema'], [{ locale, doc: body }]);
    const tags = Array.isArray(body.tags) ? (body.tags as string[]).map((t) => link('Tag', t)) : [];
    const sent = { fields, metadata: { tags } };
    try {
      if (uid === undefined && wanted !== undefined) {
        // An id some entry has is an update of it to the dialect: ask for that entry first (a 409, as /v3's x-herald-uid).
        if (await this.o.target.exists(`${this.base}/entries/${enc(wanted)}`, { api: 'contentful' })) throw new HeraldError('conflict', `Entry ${wanted} already exists.`);
        return String(((await this.send('PUT', `/entries/${enc(wanted)}`, sent, { 'x-contentful-content-type': id })) as TypeItem).sys.id);
      }
      if (uid === undefined) return String(((await this.send('POST', '/entries', sent, { 'x-contentful-content-type': id })) as TypeItem).sys.id);
      const current = (await this.send('GET', `/entries/${enc(uid)}`)) as TypeItem;
      await this.send('PUT', `/entries/${enc(uid)}`, sent, { 'x-contentful-version': String(current.sys.version) });
      return uid;
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable' || (wanted !== undefined && err.code === 'conflict')) throw err;
      return undefined;
    }
  }

  private async editorInterface(id: string, source: Record<string, unknown>) {
    const a = await this.o.target.call('GET', `${this.base}/content_types/${enc(id)}/editor_interface`, undefined, { api: 'contentful' });
    if (a.status !== 200 && a.status !== 404) throw new HeraldError('bad_request', `The target Herald refused GET ${this.base}/content_types/${id}/editor_interface (${a.status})`);
    const current = a.status === 200 ? (a.body as Record<string, any>) : undefined;
    if (current && same(editorParts(current), editorParts(source))) return;
    await this.send('PUT', `/content_types/${enc(id)}/editor_interface`, editorParts(source), { 'x-contentful-version': String(current?.sys?.version ?? 0) });
    this.o.steps.push({ module: 'editor_interface', uid: id, target_uid: id, action: 'updated' });
  }

  /** Makes each tag made at the source that the target lacks (one the target made is left as it is). */
  async tags(): Promise<void> {
    for (const t of this.o.state.tags as Array<{ sys: { id: string; version?: number; visibility?: string }; name?: string }>) {
      if (!t.sys.version) continue;
      const a = await this.o.target.call('GET', `${this.base}/tags/${enc(t.sys.id)}`, undefined, { api: 'contentful' });
      if (a.status === 200 && Number(a.body?.sys?.version) > 0) continue;
      const visibility = t.sys.visibility ?? 'private';
      await this.orWarn(`tag ${t.sys.id} could not be made`, async () => {
        await this.send('PUT', `/tags/${enc(t.sys.id)}`, { name: t.name, sys: { visibility } }, { 'x-contentful-tag-visibility': visibility });
        this.o.steps.push({ module: 'tag', uid: t.sys.id, target_uid: t.sys.id, action: 'created', name: t.name });
      });
    }
  }
}

import { HeraldError, invalid, notFound, type FieldErrors } from '../errors.ts';
import type { Action } from '../events/event.ts';
import { bltUid } from '../ids.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { deleteContentType, getContentType, requireContentType, requireContentTypeWithText, type ContentTypeDoc } from './content-types.ts';
import { applyReferenceParams, type LoadedEntry, type ReferenceParams } from './query-params.ts';
import { iso, type ContentDeps, type Scope } from './context.ts';
import { fallbackChain, requireLocale } from './locales.ts';
import {
  atOnce,
  parsePublishRequest,
  publicationsOf,
  publishDetails,
  removeAllPublished,
  removePublished,
  setPublished,
  stampPublished,
  type PublicationRow,
  type PublishOutcome,
  type PublishRequest,
} from './publications.ts';
import { assetsForFileFields } from './assets.ts';
import { assetUids, checkEntry, checkValues, type EntryInput, references, uniqueFields, withFileFields } from './entry-values.ts';
import { addError, describeErrors, hasErrors, throwIfErrors } from './field-errors.ts';
import { isEmpty, own } from './guards.ts';
import { matchesQuery, type Paging, type Query, sortDocs } from './read-query.ts';
import { ENTRY_SYSTEM_KEYS, type Field } from './schema.ts';

/**
 * Entries. An entry has one version line per locale: the line it was created in, plus one for
 * each locale it was localized in (an update with `?locale=`). Every save of a line bumps its
 * `_version` and keeps the previous versions readable (`entry_versions`). Reading a locale the
 * entry is not localized in shows the nearest line along the locale's fallback chain, as
 * Contentstack does.
 *
 * Every change records its event in the same transaction: create, update, auto_save, archive,
 * unarchive, publish / publish.fail and unpublish / unpublish.fail (one per environment and
 * locale), delete. The event's data is `{ entry, content_type }` with the entry as the API shows
 * it after the change (before it, for delete).
 */
export interface EntryDoc {
  uid: string;
  locale: string;
  content_type_uid: string;
  tags: string[];
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  _version: number;
  [field: string]: unknown;
}

interface EntryRow {
  uid: string;
  locale: string;
  content_type_uid: string;
  version: number;
  archived: number;
  doc: string;
}

/** A line of an entry, parsed. */
interface Line {
  locale: string;
  version: number;
  archived: boolean;
  doc: EntryDoc;
  /** The row's text `doc` was parsed from: JSON.stringify(doc), as every save writes it (renderedText). */
  text: string;
}

/** The entry's field values (title included), without system keys. */
function fieldsOf(doc: EntryDoc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!ENTRY_SYSTEM_KEYS.has(k)) out[k] = v;
  return out;
}

function inputOf(doc: EntryDoc): EntryInput {
  return { fields: fieldsOf(doc), tags: doc.tags ?? [] };
}

/**
 * The entry as the API returns it: the stored doc, plus archive state and `publish_details`.
 *
 * Here and where a save builds its doc (the fields, then the system keys): Object.assign onto a
 * new object, not `{ ...doc, key: value }`. V8 (Node 20) makes new hidden classes for keys added
 * after a spread, each time: a save's doc, eleven keys after the fields, cost 15-20 us to build
 * and stringify, against 1.4-1.9 us this way (microbenchmark of the bench's entries, load ~8);
 * render's two keys, 0.47 against 0.25 us. Same keys in the same order, same values.
 */
function render(doc: EntryDoc, archived: boolean, pubs: PublicationRow[]): Record<string, unknown> {
  return Object.assign({}, doc, { _archived: archived, publish_details: publishDetails(pubs) });
}

/**
 * JSON.stringify(render(doc, archived, pubs)) made from `text`, JSON.stringify(doc), without
 * stringifying the entry again: render's object has doc's keys in doc's order, then `_archived` and
 * `publish_details`, which doc never has (they are ENTRY_SYSTEM_KEYS: a body's are dropped, and a
 * schema may not name a field so). A doc always has keys (uid...), so `text` ends `...}` after one.
 */
function renderedText(text: string, archived: boolean, pubs: PublicationRow[]): string {
  const details = pubs.length === 0 ? '[]' : JSON.stringify(publishDetails(pubs));
  return `${text.slice(0, -1)},"_archived":${archived},"publish_details":${details}}`;
}

/** The publications of entry `uid` shown with a line in `publishLocale` (its publish_details). */
async function linePublications(q: Queryable, scope: Scope, uid: string, publishLocale: string): Promise<PublicationRow[]> {
  return (await publicationsOf(q, scope, 'entry', [uid], publishLocale)).get(uid) ?? [];
}

async function renderLine(q: Queryable, scope: Scope, doc: EntryDoc, archived: boolean, publishLocale: string) {
  return render(doc, archived, await linePublications(q, scope, doc.uid, publishLocale));
}

/** renderLine, with the entry's JSON text made from `text`, JSON.stringify(doc) (renderedText). */
async function renderLineWithText(q: Queryable, scope: Scope, doc: EntryDoc, text: string, archived: boolean, publishLocale: string): Promise<SavedEntry> {
  const pubs = await linePublications(q, scope, doc.uid, publishLocale);
  return { entry: render(doc, archived, pubs), text: renderedText(text, archived, pubs) };
}

/**
 * An entry's lines by locale, or a 404 if it does not exist in this content type (an entry of
 * another content type is not found either).
 */
async function requireLines(q: Queryable, scope: Scope, ctUid: string, uid: string): Promise<Map<string, Line>> {
  const rows = await q.all<EntryRow>('SELECT uid, locale, content_type_uid, version, archived, doc FROM entries WHERE api_key = ? AND branch = ? AND uid = ?', [
    scope.api_key,
    scope.branch,
    uid,
  ]);
  if (rows.length === 0 || rows[0].content_type_uid !== ctUid) throw notFound(`Entry ${uid} of content type '${ctUid}'`);
  return new Map(rows.map((r) => [r.locale, { locale: r.locale, version: Number(r.version), archived: Number(r.archived) === 1, doc: json<EntryDoc>(r.doc), text: r.doc }]));
}

/** The line shown for `locale`: its own, else the nearest along its fallback chain. */
async function resolveLine(q: Queryable, scope: Scope, lines: Map<string, Line>, locale: string): Promise<Line> {
  for (const l of await fallbackChain(q, scope.api_key, locale)) {
    const line = lines.get(l);
    if (line) return line;
  }
  // Created in a locale outside this chain: show that.
  return lines.values().next().value!;
}

/** What an entry's event carries besides the entry, its content type and its locale (record). */
interface RecordOptions {
  /** Keys the event's data has after `entry` and `content_type` (a publish's environment and locale, a failure's reason...). */
  extra?: Record<string, unknown>;
  /** The environment a publish or unpublish event is about. */
  environment?: string;
  /** A save's doc before and after (the event's `changes`). */
  versions?: { before: EntryDoc; after: EntryDoc };
  /**
   * The entry's text (renderedText) and the content type's (the row's, see
   * requireContentTypeWithText): the data's text is made of them and `extra` stringified, the same
   * bytes JSON.stringify(data) gives, without stringifying either again. (`extra` never has the keys
   * `entry` or `content_type`.)
   */
  texts?: { entry: string; contentType: string };
}

/** JSON.stringify({ entry, content_type, ...extra }) from the entry's and the content type's texts. */
function dataText(texts: { entry: string; contentType: string }, extra: Record<string, unknown> | undefined): string {
  const rest = extra === undefined ? '{}' : JSON.stringify(extra);
  return `{"entry":${texts.entry},"content_type":${texts.contentType}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
}

async function record(deps: ContentDeps, tx: Tx, scope: Scope, action: Action, ct: ContentTypeDoc, entry: Record<string, unknown>, locale: string, opts: RecordOptions = {}) {
  return deps.events.record(tx, {
    api_key: scope.api_key,
    branch: scope.branch,
    module: 'entry',
    action,
    uid: entry.uid as string,
    content_type_uid: ct.uid,
    locale,
    environment: opts.environment ?? null,
    actor: scope.caller.actor,
    actor_name: scope.caller.name ?? null,
    data: { entry, content_type: ct, ...opts.extra },
    // A plain key, undefined when absent, not a spread: record() leaves it out of the event.
    dataText: opts.texts === undefined ? undefined : dataText(opts.texts, opts.extra),
    ...(opts.versions ? { versions: opts.versions } : {}),
  });
}

/**
 * The checks of a save that need the store: a reference to an entry that exists must name its
 * content type, unique fields are unique in the locale. References and file fields that name
 * entries or assets which do not exist (yet) are accepted, as Contentstack does: importers save
 * entries before the ones they point at and remap them afterwards. Publishing is where a dangling
 * reference counts (a publish.fail naming it, see publishEntry).
 */
async function checkAgainstStore(tx: Tx, scope: Scope, ct: ContentTypeDoc, uid: string, locale: string, fields: Record<string, unknown>): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  for (const r of references(ct.schema, fields)) {
    const row = await tx.get<{ content_type_uid: string }>('SELECT content_type_uid FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [
      scope.api_key,
      scope.branch,
      r.uid,
    ]);
    if (row && row.content_type_uid !== r._content_type_uid) {
      addError(errors, r.path, `references entry ${r.uid} as content type '${r._content_type_uid}', but it is an entry of '${row.content_type_uid}'`);
    }
  }
  const unique = uniqueFields(ct.schema).filter((f) => !isEmpty(own(fields, f.uid)));
  if (unique.length) {
    const others = await tx.all<{ uid: string; doc: string }>(
      'SELECT uid, doc FROM entries WHERE api_key = ? AND branch = ? AND content_type_uid = ? AND locale = ? AND uid <> ?',
      [scope.api_key, scope.branch, ct.uid, locale, uid],
    );
    for (const f of unique) {
      const clash = others.find((o) => own(json<Record<string, unknown>>(o.doc), f.uid) === fields[f.uid]);
      if (clash) addError(errors, `entry.${f.uid}`, `must be unique: entry ${clash.uid} already has ${JSON.stringify(fields[f.uid])} in ${locale}`);
    }
  }
  return errors;
}

/** `text`: `doc` as JSON, the text its line's row was written with (one stringify for both rows). */
async function insertVersion(tx: Tx, scope: Scope, doc: EntryDoc, text: string, action: string, now: number) {
  await tx.run('INSERT INTO entry_versions (api_key, branch, uid, locale, version, action, actor, doc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    scope.api_key,
    scope.branch,
    doc.uid,
    doc.locale,
    doc._version,
    action,
    scope.caller.actor,
    text,
    now,
  ]);
}

/**
 * The API's entry writes (create, update and auto-save, delete, publish, unpublish, archive) share
 * a commit on SQLite with others asked for in the same turn of the event loop (store/sqlite.ts,
 * `gathered`): each function reads and writes only through its `tx`, so it can run again alone.
 * Bulk jobs and schedules call the `...In` forms inside their own transactions.
 */
const GATHER = { gather: true } as const;

/**
 * What the Contentful dialect asks of a save: `uid` chooses the new entry's uid (create-with-id;
 * taken: a 409; /v3 sets it from Herald's x-herald-uid header); `draft` lets required fields be
 * empty, as Contentful checks them only when an entry is published (publishEntryIn checks them
 * then; /v3 never sets it).
 */
interface SaveOptions {
  uid?: string;
  draft?: boolean;
}

export async function createEntry(deps: ContentDeps, scope: Scope, ctUid: string, raw: unknown, opts: { locale?: unknown } & SaveOptions = {}) {
  return (await createEntryWithText(deps, scope, ctUid, raw, opts)).entry;
}

/**
 * An entry a save returns, with its JSON text: the bytes JSON.stringify(entry) gives (renderedText,
 * made for the save's event anyway), so an answer carrying the entry need not stringify it again
 * (http/routes/entries.ts).
 */
export interface SavedEntry {
  entry: Record<string, unknown>;
  text: string;
}

/** createEntry, with the entry's JSON text. */
export async function createEntryWithText(deps: ContentDeps, scope: Scope, ctUid: string, raw: unknown, opts: { locale?: unknown } & SaveOptions = {}): Promise<SavedEntry> {
  return deps.db.tx(async (tx) => {
    const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
    const locale = await requireLocale(tx, scope.api_key, opts.locale);
    const { value, errors } = checkEntry(ct.schema, raw, undefined, { required: !opts.draft });
    throwIfErrors(errors);
    if (ct.options?.singleton === true) {
      const any = await tx.get('SELECT 1 AS ok FROM entries WHERE api_key = ? AND branch = ? AND content_type_uid = ? LIMIT 1', [scope.api_key, scope.branch, ct.uid]);
      if (any) throw invalid('entry', `cannot be created: content type '${ct.uid}' is a singleton and already has its entry`);
    }
    const uid = opts.uid ?? bltUid();
    if (opts.uid !== undefined && (await tx.get('SELECT 1 AS ok FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [scope.api_key, scope.branch, uid]))) {
      throw new HeraldError('conflict', `Entry ${uid} already exists.`, { errors: { uid: ['already exists'] } });
    }
    throwIfErrors(await checkAgainstStore(tx, scope, ct, uid, locale, value.fields));
    const now = Date.now();
    const at = iso(now);
    const doc: EntryDoc = Object.assign({}, value.fields, {
      tags: value.tags,
      locale,
      uid,
      content_type_uid: ct.uid,
      created_by: scope.caller.actor,
      updated_by: scope.caller.actor,
      created_at: at,
      updated_at: at,
      ACL: {},
      _version: 1,
      _in_progress: false,
    });
    const text = JSON.stringify(doc);
    await tx.run('INSERT INTO entries (api_key, branch, uid, locale, content_type_uid, version, archived, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)', [
      scope.api_key,
      scope.branch,
      uid,
      locale,
      ct.uid,
      1,
      text,
      now,
      now,
    ]);
    await insertVersion(tx, scope, doc, text, 'create', now);
    const entry = render(doc, false, []);
    const entryText = renderedText(text, false, []);
    await record(deps, tx, scope, 'create', ct, entry, locale, { texts: { entry: entryText, contentType: ctText } });
    return { entry, text: entryText };
  }, GATHER);
}

/**
 * Saves an entry in a locale (default: the master). In a locale the entry has no line yet, this
 * localizes it: the new line starts from the content shown in that locale (its fallback), with
 * the body applied, at `_version` 1. An auto-save is recorded as `auto_save`, not `update`.
 */
export async function updateEntry(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, raw: unknown, opts: UpdateOptions = {}) {
  return (await updateEntryWithText(deps, scope, ctUid, uid, raw, opts)).entry;
}

type UpdateOptions = { locale?: unknown; autoSave?: boolean } & Pick<SaveOptions, 'draft'>;

/** updateEntry, with the entry's JSON text. */
export async function updateEntryWithText(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, raw: unknown, opts: UpdateOptions = {}): Promise<SavedEntry> {
  return deps.db.tx(async (tx) => {
    const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
    const locale = await requireLocale(tx, scope.api_key, opts.locale);
    const lines = await requireLines(tx, scope, ct.uid, uid);
    const own = lines.get(locale);
    const base = own ?? (await resolveLine(tx, scope, lines, locale));
    if (base.archived) throw invalid('entry', `${uid} is archived; unarchive it before editing`);
    const { value, errors } = checkEntry(ct.schema, raw, inputOf(base.doc), { required: !opts.draft });
    throwIfErrors(errors);
    throwIfErrors(await checkAgainstStore(tx, scope, ct, uid, locale, value.fields));
    const action: Action = opts.autoSave ? 'auto_save' : 'update';
    const now = Date.now();
    const version = own ? own.version + 1 : 1;
    const at = iso(now);
    const doc: EntryDoc = Object.assign({}, value.fields, {
      tags: value.tags,
      locale,
      uid,
      content_type_uid: ct.uid,
      created_by: own ? own.doc.created_by : scope.caller.actor,
      updated_by: scope.caller.actor,
      created_at: own ? own.doc.created_at : at,
      updated_at: at,
      ACL: {},
      _version: version,
      _in_progress: false,
    });
    const text = JSON.stringify(doc);
    if (own) {
      const { changes } = await tx.run(
        'UPDATE entries SET version = ?, doc = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND uid = ? AND locale = ? AND version = ?',
        [version, text, now, scope.api_key, scope.branch, uid, locale, own.version],
      );
      if (changes === 0) throw new HeraldError('conflict', `Entry ${uid} changed meanwhile; fetch it and try again.`);
    } else {
      await tx.run('INSERT INTO entries (api_key, branch, uid, locale, content_type_uid, version, archived, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)', [
        scope.api_key,
        scope.branch,
        uid,
        locale,
        ct.uid,
        version,
        text,
        now,
        now,
      ]);
    }
    await insertVersion(tx, scope, doc, text, action, now);
    const pubs = (await publicationsOf(tx, scope, 'entry', [uid], locale)).get(uid) ?? [];
    const entry = render(doc, false, pubs);
    const entryText = renderedText(text, false, pubs);
    // A new locale line's changes are against the content that locale showed before (its fallback).
    await record(deps, tx, scope, action, ct, entry, locale, { versions: { before: base.doc, after: doc }, texts: { entry: entryText, contentType: ctText } });
    return { entry, text: entryText };
  }, GATHER);
}

/** An entry in a locale (its own line or its fallback's), optionally an older version of it. */
export async function fetchEntry(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, opts: { locale?: unknown; version?: unknown } = {}) {
  const q = deps.db;
  await requireContentType(q, scope, ctUid);
  const locale = await requireLocale(q, scope.api_key, opts.locale);
  const lines = await requireLines(q, scope, ctUid, uid);
  const line = await resolveLine(q, scope, lines, locale);
  if (opts.version === undefined || opts.version === '') return renderLine(q, scope, line.doc, line.archived, locale);
  const version = Number(opts.version);
  if (!Number.isInteger(version) || version < 1) throw invalid('version', 'must be a whole number >= 1');
  const row = await q.get<{ doc: string }>('SELECT doc FROM entry_versions WHERE api_key = ? AND branch = ? AND uid = ? AND locale = ? AND version = ?', [
    scope.api_key,
    scope.branch,
    uid,
    line.locale,
    version,
  ]);
  if (!row) throw notFound(`Version ${version} of entry ${uid} in ${line.locale}`);
  return renderLine(q, scope, json<EntryDoc>(row.doc), line.archived, locale);
}

/** The versions of an entry's line in a locale, newest first. */
export async function entryVersions(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, opts: { locale?: unknown } = {}) {
  const q = deps.db;
  await requireContentType(q, scope, ctUid);
  const locale = await requireLocale(q, scope.api_key, opts.locale);
  const lines = await requireLines(q, scope, ctUid, uid);
  const line = await resolveLine(q, scope, lines, locale);
  const rows = await q.all<{ version: number; action: string; actor: string; created_at: number }>(
    'SELECT version, action, actor, created_at FROM entry_versions WHERE api_key = ? AND branch = ? AND uid = ? AND locale = ? ORDER BY version DESC',
    [scope.api_key, scope.branch, uid, line.locale],
  );
  return rows.map((r) => ({ _version: Number(r.version), locale: line.locale, action: r.action, updated_by: r.actor, updated_at: iso(Number(r.created_at)) }));
}

export interface ListOptions {
  locale?: unknown;
  paging: Paging;
  query?: Query;
  sort: { field: string; dir: 1 | -1 };
}

/** A content type's entries as shown in a locale, filtered by `query`, sorted and paged. */
export async function listEntries(deps: ContentDeps, scope: Scope, ctUid: string, opts: ListOptions) {
  const q = deps.db;
  await requireContentType(q, scope, ctUid);
  const locale = await requireLocale(q, scope.api_key, opts.locale);
  const chain = await fallbackChain(q, scope.api_key, locale);
  const rows = await q.all<EntryRow & { created_at: number }>(
    'SELECT uid, locale, content_type_uid, version, archived, doc, created_at FROM entries WHERE api_key = ? AND branch = ? AND content_type_uid = ? ORDER BY created_at, uid, locale',
    [scope.api_key, scope.branch, ctUid],
  );
  const byUid = new Map<string, Map<string, EntryRow>>();
  for (const r of rows) {
    if (!byUid.has(r.uid)) byUid.set(r.uid, new Map());
    byUid.get(r.uid)!.set(r.locale, r);
  }
  const shown: Array<{ doc: EntryDoc; archived: boolean }> = [];
  for (const lines of byUid.values()) {
    const row = chain.map((l) => lines.get(l)).find(Boolean);
    if (row) shown.push({ doc: json<EntryDoc>(row.doc), archived: Number(row.archived) === 1 });
  }
  let docs = shown.map((s) => ({ ...s.doc, _archived: s.archived }) as Record<string, unknown>);
  if (opts.query) docs = docs.filter((d) => matchesQuery(d, opts.query!));
  docs = sortDocs(docs, opts.sort);
  const page = docs.slice(opts.paging.skip, opts.paging.skip + opts.paging.limit);
  const pubs = await publicationsOf(q, scope, 'entry', page.map((d) => d.uid as string), locale);
  const entries = page.map((d) => ({ ...d, publish_details: publishDetails(pubs.get(d.uid as string) ?? []) }));
  return { entries, count: docs.length };
}

/**
 * Deletes an entry: with `locale`, only that localized line (the whole entry when it is the only
 * line); without, every line. `allLocalized` (Contentstack's `delete_all_localized=true`) deletes
 * the master and every localized line even when `locale` names one; the locale must still be one of
 * the entry's lines. Its versions and publications go with the lines. Either way one `delete`
 * event, naming the lines removed (`deleted_locales`).
 */
export async function deleteEntry(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, opts: DeleteOpts = {}) {
  return deps.db.tx(async (tx) => (await deleteEntryIn(deps, tx, scope, ctUid, uid, opts)).snapshot, GATHER);
}

/** deleteEntry in the caller's transaction (a bulk job runs many in one); `seq` is the delete event's. */
export type DeleteOpts = { locale?: unknown; allLocalized?: boolean };

export async function deleteEntryIn(deps: ContentDeps, tx: Tx, scope: Scope, ctUid: string, uid: string, opts: DeleteOpts = {}) {
  const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
  const lines = await requireLines(tx, scope, ct.uid, uid);
  let line: Line;
  let only: string | undefined;
  if (opts.locale !== undefined && opts.locale !== '') {
    const locale = await requireLocale(tx, scope.api_key, opts.locale);
    const own = lines.get(locale);
    if (!own) throw notFound(`Entry ${uid} in locale ${locale}`);
    line = own;
    if (lines.size > 1 && !opts.allLocalized) only = locale;
  } else {
    line = await resolveLine(tx, scope, lines, await requireLocale(tx, scope.api_key, undefined));
  }
  const { entry: snapshot, text: snapshotText } = await renderLineWithText(tx, scope, line.doc, line.text, line.archived, line.locale);
  const where = 'api_key = ? AND branch = ? AND uid = ?' + (only ? ' AND locale = ?' : '');
  const params = [scope.api_key, scope.branch, uid, ...(only ? [only] : [])];
  await tx.run(`DELETE FROM entries WHERE ${where}`, params);
  await tx.run(`DELETE FROM entry_versions WHERE ${where}`, params);
  if (only) await tx.run(`DELETE FROM publications WHERE ${where} AND module = 'entry'`, params);
  else await removeAllPublished(tx, scope, 'entry', uid);
  // Which localized lines went: one (`?locale=` with others left) or all, so a receiver (the
  // backup center) need not guess whether the entry or one locale was deleted.
  const event = await record(deps, tx, scope, 'delete', ct, snapshot, line.locale, {
    extra: { deleted_locales: only ? [only] : [...lines.keys()] },
    texts: { entry: snapshotText, contentType: ctText },
  });
  return { snapshot, seq: event.seq };
}

/**
 * Deletes a content type and every entry in it, as Contentstack's `DELETE /v3/content_types/{uid}`
 * ("deletes an existing content type and all the entries within it"): each entry as its own DELETE
 * would (every localized version, its publications; one `delete` event with `deleted_locales`),
 * then the type with its `delete` event, in one transaction. Still refused (409) while another
 * content type or a global field references the type, and then nothing is deleted.
 */
export async function deleteContentTypeWithEntries(deps: ContentDeps, scope: Scope, ctUid: string): Promise<ContentTypeDoc> {
  return deleteContentType(deps, scope, ctUid, async (tx, ct, uids) => {
    for (const uid of uids) await deleteEntryIn(deps, tx, scope, ct.uid, uid);
  });
}

/** Why a publish fails for a reference to an entry that does not exist, or undefined. */
async function danglingReference(q: Queryable, scope: Scope, ct: ContentTypeDoc, fields: Record<string, unknown>): Promise<string | undefined> {
  for (const r of references(ct.schema, fields)) {
    const row = await q.get<{ content_type_uid: string }>('SELECT content_type_uid FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [scope.api_key, scope.branch, r.uid]);
    if (!row || row.content_type_uid !== r._content_type_uid) return `${r.path} references entry ${r.uid} (${r._content_type_uid}), which does not exist`;
  }
  return undefined;
}

/** Why a publish fails for a file field naming an asset that does not exist, or undefined. */
async function missingAsset(q: Queryable, scope: Scope, ct: ContentTypeDoc, fields: Record<string, unknown>): Promise<string | undefined> {
  for (const a of assetUids(ct.schema, fields)) {
    const row = await q.get('SELECT 1 AS ok FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, a.uid]);
    if (!row) return `${a.path} names asset ${a.uid}, which does not exist`;
  }
  return undefined;
}

/**
 * Publishes an entry to each environment x locale of the request. Each pair is tried on its own:
 * it fails (`publish.fail`, with the reason) when the content shown in that locale does not pass
 * its content type's validation, or references an entry or names an asset that does not exist;
 * else it is published (`publish`), also when the entries it references are not published yet. Refused outright (no event) for an unknown
 * environment, locale or version, and for an archived entry.
 */
export async function publishEntry(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, body: unknown, queryLocale?: unknown) {
  return deps.db.tx((tx) => publishEntryIn(deps, tx, scope, ctUid, uid, (t) => parsePublishRequest(t, scope, 'entry', body, queryLocale).then(atOnce)), GATHER);
}

/**
 * What a publish (or unpublish) checks of the entry before anything else, for one scheduled for
 * later (src/content/schedule.ts): it exists in its content type and, to be published, is not
 * archived. The rest is checked when it happens.
 */
export async function checkEntryTarget(tx: Queryable, scope: Scope, ctUid: string, uid: string, action: 'publish' | 'unpublish'): Promise<void> {
  const ct = await requireContentType(tx, scope, ctUid);
  const lines = await requireLines(tx, scope, ct.uid, uid);
  if (action === 'publish' && [...lines.values()].some((l) => l.archived)) throw invalid('entry', `${uid} is archived; unarchive it before publishing`);
}

/**
 * publishEntry in the caller's transaction (a bulk job runs many in one). `request` reads the
 * request once the entry is known to exist (a missing entry is a 404 whatever the body says).
 */
export async function publishEntryIn(deps: ContentDeps, tx: Tx, scope: Scope, ctUid: string, uid: string, request: (tx: Tx) => Promise<PublishRequest>): Promise<PublishOutcome[]> {
  const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
  const lines = await requireLines(tx, scope, ct.uid, uid);
  const req = await request(tx);
  const archived = [...lines.values()].some((l) => l.archived);
  if (archived) throw invalid('entry', `${uid} is archived; unarchive it before publishing`);
  const outcomes: PublishOutcome[] = [];
  for (const locale of req.locales) {
    const line = await resolveLine(tx, scope, lines, locale);
    let doc = line.doc;
    let text = line.text;
    if (req.version !== undefined && req.version !== line.version) {
      const row = await tx.get<{ doc: string }>('SELECT doc FROM entry_versions WHERE api_key = ? AND branch = ? AND uid = ? AND locale = ? AND version = ?', [
        scope.api_key,
        scope.branch,
        uid,
        line.locale,
        req.version,
      ]);
      if (!row) throw invalid('version', `entry ${uid} has no version ${req.version} in ${line.locale}`);
      doc = json<EntryDoc>(row.doc);
      text = row.doc;
    }
    const fields = fieldsOf(doc);
    const errors = checkValues(ct.schema, fields);
    const invalidReason = hasErrors(errors) ? `the entry does not pass validation of content type '${ct.uid}': ${describeErrors(errors)}` : undefined;
    for (const env of req.environments) {
      let reason = invalidReason;
      // A reference to an entry that exists is fine even when that entry is not published (yet):
      // readers of the delivery API see only published targets, and entries that point at each
      // other can be published one after the other. One that does not exist fails the publish.
      if (!reason) reason = await danglingReference(tx, scope, ct, fields);
      if (!reason) reason = await missingAsset(tx, scope, ct, fields);
      const extra = { environment: { name: env.name, uid: env.uid }, locale };
      if (reason) {
        const shown = await renderLineWithText(tx, scope, doc, text, false, locale);
        const failed = await record(deps, tx, scope, 'publish.fail', ct, shown.entry, locale, { extra: { ...extra, reason }, environment: env.name, texts: { entry: shown.text, contentType: ctText } });
        outcomes.push({ environment: env.name, locale, action: 'publish.fail', reason, seq: failed.seq });
        continue;
      }
      await setPublished(tx, scope, 'entry', uid, env.uid, locale, doc._version, { doc, content_type_uid: ct.uid, text });
      const shown = await renderLineWithText(tx, scope, doc, text, false, locale);
      const event = await record(deps, tx, scope, 'publish', ct, shown.entry, locale, { extra, environment: env.name, texts: { entry: shown.text, contentType: ctText } });
      outcomes.push({ environment: env.name, locale, action: 'publish', seq: event.seq });
      await stampPublished(tx, scope, 'entry', uid, env.uid, locale, event.seq);
    }
  }
  return outcomes;
}

/** Unpublishes from each environment x locale: `unpublish`, or `unpublish.fail` where it was not published. */
export async function unpublishEntry(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, body: unknown, queryLocale?: unknown) {
  return deps.db.tx((tx) => unpublishEntryIn(deps, tx, scope, ctUid, uid, (t) => parsePublishRequest(t, scope, 'entry', body, queryLocale).then(atOnce)), GATHER);
}

/** unpublishEntry in the caller's transaction (see publishEntryIn). */
export async function unpublishEntryIn(deps: ContentDeps, tx: Tx, scope: Scope, ctUid: string, uid: string, request: (tx: Tx) => Promise<PublishRequest>): Promise<PublishOutcome[]> {
  const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
  const lines = await requireLines(tx, scope, ct.uid, uid);
  const req = await request(tx);
  const outcomes: PublishOutcome[] = [];
  for (const locale of req.locales) {
    const line = await resolveLine(tx, scope, lines, locale);
    for (const env of req.environments) {
      const removed = await removePublished(tx, scope, 'entry', uid, env.uid, locale);
      const extra = { environment: { name: env.name, uid: env.uid }, locale };
      const shown = await renderLineWithText(tx, scope, line.doc, line.text, line.archived, locale);
      const texts = { entry: shown.text, contentType: ctText };
      if (removed) {
        const event = await record(deps, tx, scope, 'unpublish', ct, shown.entry, locale, { extra, environment: env.name, texts });
        outcomes.push({ environment: env.name, locale, action: 'unpublish', seq: event.seq });
      } else {
        const reason = `the entry is not published to ${env.name} in ${locale}`;
        const event = await record(deps, tx, scope, 'unpublish.fail', ct, shown.entry, locale, { extra: { ...extra, reason }, environment: env.name, texts });
        outcomes.push({ environment: env.name, locale, action: 'unpublish.fail', reason, seq: event.seq });
      }
    }
  }
  return outcomes;
}

/**
 * Archives (or unarchives) an entry, all its locales at once. Archiving a published entry is
 * refused (unpublish it first, as Contentful requires), as is archiving twice.
 */
export async function setEntryArchived(deps: ContentDeps, scope: Scope, ctUid: string, uid: string, archived: boolean, opts: { locale?: unknown } = {}) {
  return deps.db.tx(async (tx) => {
    const { ct, text: ctText } = await requireContentTypeWithText(tx, scope, ctUid);
    const locale = await requireLocale(tx, scope.api_key, opts.locale);
    const lines = await requireLines(tx, scope, ct.uid, uid);
    const isArchived = [...lines.values()].some((l) => l.archived);
    if (archived && isArchived) throw invalid('entry', `${uid} is already archived`);
    if (!archived && !isArchived) throw invalid('entry', `${uid} is not archived`);
    if (archived) {
      const pubs = (await publicationsOf(tx, scope, 'entry', [uid])).get(uid) ?? [];
      if (pubs.length) {
        throw invalid('entry', `${uid} is published (${pubs.map((p) => p.locale).join(', ')}); unpublish it before archiving`);
      }
    }
    await tx.run('UPDATE entries SET archived = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND uid = ?', [archived ? 1 : 0, Date.now(), scope.api_key, scope.branch, uid]);
    const line = await resolveLine(tx, scope, lines, locale);
    const shown = await renderLineWithText(tx, scope, line.doc, line.text, archived, locale);
    await record(deps, tx, scope, archived ? 'archive' : 'unarchive', ct, shown.entry, line.locale, { texts: { entry: shown.text, contentType: ctText } });
    return shown.entry;
  }, GATHER);
}

/**
 * Applies include[] / only / except (src/content/query-params.ts) to entries of `ctUid` read in
 * `locale`: referenced entries are read as drafts in the same locale (with its fallback chain),
 * as the management API shows them. File fields show their assets (as Contentstack's management
 * API does, and as csdx's import remaps them), with URLs on `origin`; in referenced entries too.
 */
export async function applyEntryParams(
  deps: ContentDeps,
  scope: Scope,
  ctUid: string,
  entries: Array<Record<string, unknown>>,
  params: ReferenceParams,
  locale: unknown,
  origin: string,
) {
  const q = deps.db;
  const code = await requireLocale(q, scope.api_key, locale);
  const chain = await fallbackChain(q, scope.api_key, code);
  const schemas = new Map<string, Field[] | undefined>();
  const schemaOf = async (ct: string) => {
    if (!schemas.has(ct)) schemas.set(ct, (await getContentType(q, scope, ct))?.schema as Field[] | undefined);
    return schemas.get(ct);
  };
  /** The entries of one content type with their file fields showing assets (one read of the assets). */
  const showFiles = async (ct: string, docs: Array<Record<string, unknown>>) => {
    const schema = await schemaOf(ct);
    const uids = schema ? docs.flatMap((d) => assetUids(schema, d).map((a) => a.uid)) : [];
    if (!schema || uids.length === 0) return docs;
    const assets = await assetsForFileFields(deps, scope, uids, origin);
    return docs.map((d) => withFileFields(schema, d, (u) => assets.get(u)));
  };
  entries.splice(0, entries.length, ...(await showFiles(ctUid, entries)));
  return applyReferenceParams(entries, ctUid, params, {
    schemaOf,
    async load(uids) {
      const out = new Map<string, LoadedEntry>();
      for (let i = 0; i < uids.length; i += 500) {
        const part = uids.slice(i, i + 500);
        const rows = await q.all<EntryRow>(
          `SELECT uid, locale, content_type_uid, version, archived, doc FROM entries WHERE api_key = ? AND branch = ? AND uid IN (${part.map(() => '?').join(',')})`,
          [scope.api_key, scope.branch, ...part],
        );
        const byUid = new Map<string, Map<string, EntryRow>>();
        for (const r of rows) byUid.set(r.uid, (byUid.get(r.uid) ?? new Map()).set(r.locale, r));
        const shown: EntryRow[] = [];
        for (const lines of byUid.values()) {
          const row = chain.map((l) => lines.get(l)).find(Boolean) ?? lines.values().next().value!;
          shown.push(row);
        }
        const pubs = await publicationsOf(q, scope, 'entry', shown.map((r) => r.uid), code);
        const byType = new Map<string, EntryRow[]>();
        for (const r of shown) byType.set(r.content_type_uid, [...(byType.get(r.content_type_uid) ?? []), r]);
        for (const [ct, typed] of byType) {
          const rendered = await showFiles(ct, typed.map((r) => render(json<EntryDoc>(r.doc), Number(r.archived) === 1, pubs.get(r.uid) ?? [])));
          typed.forEach((r, j) => out.set(r.uid, { entry: rendered[j]!, contentType: ct }));
        }
      }
      return out;
    },
  });
}

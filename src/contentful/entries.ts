import { listContentTypes, requireContentType, type ContentTypeDoc } from '../content/content-types.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { createEntry, deleteEntry, publishEntry, setEntryArchived, unpublishEntry, updateEntry } from '../content/entries.ts';
import { createEnvironment, getEnvironment, type EnvironmentDoc } from '../content/environments.ts';
import { listLocales, masterLocale } from '../content/locales.ts';
import { outcomeError, publicationsOf, type PublicationRow } from '../content/publications.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, invalid, notFound, type FieldErrors } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { within } from './compose.ts';
import { contentfulFieldDef, contentfulLocale, contentTypeId, entryEntity, fieldId, isLocalized, type EntityState, type Publication, type SysContext } from './entities.ts';
import { renameFields, validationFailed, versionMismatch } from './errors.ts';
import { activatedType, requireActivated } from './content-types.ts';
import { applyQuery, contentTypeParam, InvalidQuery, needsEntities, parseQuery, selectPaths, type QueryField } from './query.ts';
import { contentfulIds } from './schema.ts';
import { fieldStatus } from './field-status.ts';
import { publishedVersionOf, recordPublish, resetVersion, shift, versionState, versionStates, type VersionState } from './versions.ts';
import { entryFields, linkedEntryIds, metadataTags, parseEntryFields, sameValues, type Locales } from './values.ts';

/**
 * Entries in the Contentful dialect, over src/content/entries.ts (the same entries as /v3).
 *
 * One Contentful entry is Herald's entry with all its locale lines: `fields` gather each line's
 * values under its locale. Saving writes each locale whose values change through updateEntry
 * (one `update` / `auto_save` event per locale written), all in one transaction.
 *
 * `sys.version` is the sum of the lines' versions: any save of any line through either API moves
 * it, so `X-Contentful-Version` catches every concurrent change. Publishing does not change it.
 *
 * Publishing has no environment in Contentful; Herald publishes to environments. The rule: an
 * entry published in Contentful environment E (branch B) is published to the Herald environment
 * named E (`master` for the branch main), created on first use, in every locale the entry has
 * (or those a request names).
 */

interface LineRow {
  locale: string;
  content_type_uid: string;
  version: number;
  archived: number;
  doc: string;
  updated_at: number;
}

interface Line {
  locale: string;
  version: number;
  archived: boolean;
  doc: Record<string, unknown>;
  updated_at: number;
}

async function readLines(q: Queryable, scope: Scope, uid: string): Promise<{ ctUid: string; lines: Line[] } | undefined> {
  const rows = await q.all<LineRow>('SELECT locale, content_type_uid, version, archived, doc, updated_at FROM entries WHERE api_key = ? AND branch = ? AND uid = ? ORDER BY created_at, locale', [
    scope.api_key,
    scope.branch,
    uid,
  ]);
  if (rows.length === 0) return undefined;
  return {
    ctUid: rows[0].content_type_uid,
    lines: rows.map((r) => ({ locale: r.locale, version: Number(r.version), archived: Number(r.archived) === 1, doc: json(r.doc), updated_at: Number(r.updated_at) })),
  };
}

async function requireEntry(q: Queryable, scope: Scope, uid: string) {
  const found = await readLines(q, scope, uid);
  if (!found) throw notFound(`Entry ${uid}`);
  return { ...found, ct: await requireContentType(q, scope, found.ctUid) };
}

const versionOf = (lines: Line[]) => lines.reduce((n, l) => n + l.version, 0);

/** The space's locale codes (Herald's): what a publish body's `fields['*']` may name (localesOf), and sys.fieldStatus's keys. */
export async function localeCodes(q: Queryable, apiKey: string): Promise<Set<string>> {
  return new Set((await listLocales(q, apiKey)).map((l) => l.code));
}

async function locales(q: Queryable, apiKey: string): Promise<Locales> {
  return { codes: await localeCodes(q, apiKey), master: await masterLocale(q, apiKey) };
}

/** The Herald environment a Contentful environment publishes to (see above). */
async function publishEnvironment(q: Queryable, scope: Scope, ctx: SysContext): Promise<EnvironmentDoc | undefined> {
  return getEnvironment(q, scope.api_key, ctx.environmentId);
}

/** Publication state over the lines published to the environment (`vs`: see versions.ts). */
export function publicationState(rows: PublicationRow[], vs: VersionState): Publication | null {
  if (rows.length === 0) return null;
  const sorted = [...rows].sort((a, b) => Number(a.published_at) - Number(b.published_at));
  const last = sorted[sorted.length - 1];
  return {
    version: publishedVersionOf(rows.reduce((n, r) => n + Number(r.version), 0), vs),
    counter: rows.length,
    by: last.actor,
    firstAt: new Date(Number(sorted[0].published_at)).toISOString(),
    at: new Date(Number(last.published_at)).toISOString(),
  };
}

function state(uid: string, lines: Line[], master: string, pubs: PublicationRow[], vs: VersionState, codes: ReadonlySet<string>): EntityState {
  const byTime = [...lines].sort((a, b) => String(a.doc.updated_at).localeCompare(String(b.doc.updated_at)));
  const newest = byTime[byTime.length - 1];
  const first = lines.find((l) => l.locale === master) ?? lines[0];
  const archived = lines.some((l) => l.archived);
  return {
    id: uid,
    version: versionOf(lines) + vs.offset,
    createdAt: String(first.doc.created_at),
    updatedAt: String(newest.doc.updated_at),
    createdBy: String(first.doc.created_by),
    updatedBy: String(newest.doc.updated_by),
    published: publicationState(pubs, vs),
    archived: archived ? { version: versionOf(lines) + vs.offset, at: new Date(Math.max(...lines.map((l) => l.updated_at))).toISOString(), by: String(newest.doc.updated_by) } : null,
    // Each locale against its own line (a locale published from the master line, through /v3, against that).
    fieldStatus: fieldStatus(codes, lines, pubs.map((p) => ({ locale: p.locale, version: Number(p.version) })), first.version),
  };
}

async function present(q: Queryable, scope: Scope, ctx: SysContext, uid: string, ct: ContentTypeDoc, lines: Line[], master?: string) {
  const m = master ?? (await masterLocale(q, scope.api_key));
  const env = await publishEnvironment(q, scope, ctx);
  const pubs = env ? ((await publicationsOf(q, scope, 'entry', [uid])).get(uid) ?? []).filter((p) => p.environment === env.uid) : [];
  const codes = await localeCodes(q, scope.api_key);
  return entityOf(ctx, uid, ct, lines, m, pubs, await versionState(q, scope, 'entry', uid), codes);
}

/** `codes`: the space's locales (Herald's codes), the keys of sys.fieldStatus. */
function entityOf(ctx: SysContext, uid: string, ct: ContentTypeDoc, lines: Line[], master: string, pubs: PublicationRow[], vs: VersionState, codes: ReadonlySet<string>) {
  const masterLine = lines.find((l) => l.locale === master) ?? lines[0];
  const tags = Array.isArray(masterLine.doc.tags) ? (masterLine.doc.tags as string[]) : [];
  return entryEntity(ct, lines.map((l) => ({ locale: l.locale, doc: l.doc })), tags, ctx, state(uid, lines, master, pubs, vs, codes), master);
}

/** Whether an entry of this uid exists in the scope's branch (in any locale). */
export async function entryExists(q: Queryable, scope: Scope, uid: string): Promise<boolean> {
  return !!(await q.get('SELECT 1 AS ok FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [scope.api_key, scope.branch, uid]));
}

export async function getEntry(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string) {
  const e = await requireEntry(deps.db, scope, uid);
  return present(deps.db, scope, ctx, uid, e.ct, e.lines);
}

/**
 * What a collection query reads about the space, from one read of its locales: their codes as
 * Contentful writes them (`codes`, for the query's paths) and as Herald does (`heraldCodes`,
 * sys.fieldStatus's keys, as localeCodes), and the master one.
 */
export async function queryLocales(q: Queryable, apiKey: string): Promise<{ codes: string[]; heraldCodes: Set<string>; default: string; master: string }> {
  const master = await masterLocale(q, apiKey);
  const heraldCodes = await localeCodes(q, apiKey);
  return { codes: [...heraldCodes].map(contentfulLocale), heraldCodes, default: contentfulLocale(master), master };
}

/**
 * The entries of the environment as Contentful's collection query asks (src/contentful/query.ts:
 * content_type, sys.*, fields.*, query, order, select, skip, limit...; anything else is a 400
 * naming it), oldest first unless `order` says otherwise.
 */
export async function listEntries(deps: ContentDeps, scope: Scope, ctx: SysContext, params: Record<string, unknown>) {
  const q = deps.db;
  const types = await listContentTypes(q, scope);
  const typeId = contentTypeParam(params);
  const ct = typeId === undefined ? undefined : types.find((t) => contentTypeId(t) === typeId);
  if (typeId !== undefined && !ct) throw new InvalidQuery('content_type', `names content type ${JSON.stringify(typeId)}, which does not exist in this environment`);
  const locs = await queryLocales(q, scope.api_key);
  const ids = contentfulIds(types);
  const parsed = parseQuery(params, {
    kind: 'Entry',
    contentType: ct ? { sys: { id: typeId! }, fields: ct.schema.map((f) => contentfulFieldDef(f, ids) as unknown as QueryField) } : undefined,
    locales: locs,
  });

  // Every line of the environment's entries (of the content type), in one read, grouped by entry.
  const where = ['api_key = ?', 'branch = ?'];
  const args: unknown[] = [scope.api_key, scope.branch];
  if (ct) {
    where.push('content_type_uid = ?');
    args.push(ct.uid);
  }
  const rows = await q.all<LineRow & { uid: string }>(
    `SELECT uid, locale, content_type_uid, version, archived, doc, updated_at FROM entries WHERE ${where.join(' AND ')} ORDER BY created_at, uid, locale`,
    args,
  );
  const byUid = new Map<string, { ctUid: string; lines: Line[] }>();
  for (const r of rows) {
    let e = byUid.get(r.uid);
    if (!e) byUid.set(r.uid, (e = { ctUid: r.content_type_uid, lines: [] }));
    e.lines.push({ locale: r.locale, version: Number(r.version), archived: Number(r.archived) === 1, doc: json(r.doc), updated_at: Number(r.updated_at) });
  }
  const env = await publishEnvironment(q, scope, ctx);
  const pubs = new Map<string, PublicationRow[]>();
  if (env) {
    const all = await q.all<PublicationRow>(
      "SELECT uid, environment, locale, version, actor, published_at FROM publications WHERE api_key = ? AND branch = ? AND module = 'entry' AND environment = ? ORDER BY published_at, locale",
      [scope.api_key, scope.branch, env.uid],
    );
    for (const p of all) (pubs.get(p.uid) ?? pubs.set(p.uid, []).get(p.uid)!).push(p);
  }
  const states = await versionStates(q, scope, 'entry');
  const typeByUid = new Map(types.map((t) => [t.uid, t]));
  const known = [...byUid].filter(([, e]) => typeByUid.has(e.ctUid));
  const entity = ([uid, e]: [string, { ctUid: string; lines: Line[] }]) => entityOf(ctx, uid, typeByUid.get(e.ctUid)!, e.lines, locs.master, pubs.get(uid) ?? [], states.get(uid) ?? { offset: 0, publishedVersion: null, publishedSum: null }, locs.heraldCodes);
  if (!needsEntities(parsed)) {
    // Nothing to filter or order by: only the page is presented.
    const page = known.slice(parsed.skip, parsed.skip + parsed.limit).map(entity);
    return { items: parsed.select ? page.map((e) => selectPaths(e, parsed.select!)) : page, total: known.length, page: parsed };
  }
  return { ...applyQuery(known.map(entity), parsed), page: parsed };
}

/** Entry errors from src/content (`entry.hero_image`) under Contentful's names (`fields.heroImage.en-US`). */
function inContentfulTerms(err: unknown, ct: ContentTypeDoc, locale: string): unknown {
  const fields = entryFields(ct.schema);
  return renameFields(err, (p) => {
    const m = /^entry\.([a-z][a-z0-9_]*)(.*)$/.exec(p);
    if (!m) return p;
    const f = fields.find((x) => x.uid === m[1]);
    return f ? `fields.${fieldId(f)}.${contentfulLocale(locale)}${m[2]}` : p;
  });
}

async function entryTypes(tx: Queryable, scope: Scope, rawFields: unknown): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of linkedEntryIds(rawFields)) {
    const row = await tx.get<{ content_type_uid: string }>('SELECT content_type_uid FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [scope.api_key, scope.branch, id]);
    if (row) out.set(id, row.content_type_uid);
  }
  return out;
}

/**
 * What each locale line should hold after a save of `raw`: every locale given in the body gets
 * exactly the body's values (fields left out are cleared, as a Contentful PUT replaces them);
 * fields that are not localized take the master locale's value on every line; locales the body
 * leaves out keep their values. Returns the lines to write, master first.
 */
async function plan(tx: Tx, scope: Scope, ct: ContentTypeDoc, current: Line[], raw: unknown) {
  if (!isObject(raw)) throw invalid('body', 'must be an entry: { "fields": { ... } }');
  const errors: FieldErrors = fieldErrors();
  for (const k of Object.keys(raw)) if (!['fields', 'metadata', 'sys'].includes(k)) (errors[k] ??= []).push('is not a known field');
  const loc = await locales(tx, scope.api_key);
  const types = await entryTypes(tx, scope, raw.fields);
  const parsed = parseEntryFields(ct.schema, raw.fields, loc, (id) => types.get(id));
  Object.assign(errors, parsed.errors);
  const tags = metadataTags(raw, errors);
  if (Object.keys(errors).length) throw validationFailed(errors);

  const fields = entryFields(ct.schema);
  const byLocale = new Map(current.map((l) => [l.locale, l]));
  const given = parsed.byLocale;
  const currentMaster = byLocale.get(loc.master)?.doc ?? {};
  const masterGiven = given.has(loc.master) || given.size === 0;
  const masterValues = given.get(loc.master) ?? {};
  const wanted = new Map<string, Record<string, unknown>>();
  const localesToConsider = new Set([...(masterGiven ? [loc.master] : []), ...given.keys(), ...byLocale.keys()]);
  for (const locale of localesToConsider) {
    const own = byLocale.get(locale)?.doc ?? {};
    const values: Record<string, unknown> = {};
    for (const f of fields) {
      if (!isLocalized(f) && f.uid !== 'title') values[f.uid] = masterGiven ? (masterValues[f.uid] ?? null) : (currentMaster[f.uid] ?? null);
      else if (given.has(locale) || (locale === loc.master && masterGiven)) values[f.uid] = given.get(locale)?.[f.uid] ?? null;
      else values[f.uid] = own[f.uid] ?? null;
    }
    wanted.set(locale, values);
  }
  const ordered = [...wanted.keys()].sort((a, b) => (a === loc.master ? -1 : b === loc.master ? 1 : 0));
  const tagsChange = tags !== undefined && current.some((l) => JSON.stringify(l.doc.tags ?? []) !== JSON.stringify(tags));
  const writes = ordered
    .filter((l) => given.has(l) || byLocale.has(l) || l === loc.master)
    .filter((l) => {
      const line = byLocale.get(l);
      return !line || tagsChange || !sameValues(fields, line.doc, wanted.get(l)!);
    })
    .map((l) => ({ locale: l, values: wanted.get(l)! }));
  return { writes, tags, master: loc.master, wanted };
}

/**
 * The dialect's entry writes (create, save and auto-save, publish, unpublish, archive, delete) share
 * a commit on SQLite with other writes asked for in the same turn of the event loop, as /v3's do
 * (src/content/entries.ts, GATHER): each reads and writes only through its `tx` (the src/content
 * operations it composes run inside it: within), so it can run again alone.
 */
const GATHER = { gather: true } as const;

/** Creates an entry (POST; or PUT to an id no entry has: `id`, Contentful's create-with-id). */
export async function createEntryFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, typeId: string | undefined, raw: unknown, id?: string) {
  if (!typeId) throw invalid('X-Contentful-Content-Type', 'is required: the id of the content type of the new entry');
  return deps.db.tx(async (tx) => {
    const ct = await activatedType(tx, scope, typeId);
    const { wanted, tags, master } = await plan(tx, scope, ct, [], raw);
    const inner = within(deps, tx);
    const first = wanted.get(master) ?? {};
    let created: Record<string, unknown>;
    try {
      created = await createEntry(inner, scope, ct.uid, { ...first, ...(tags ? { tags } : {}) }, { locale: master, draft: true, ...(id !== undefined ? { uid: id } : {}) });
    } catch (err) {
      throw inContentfulTerms(err, ct, master);
    }
    const uid = created.uid as string;
    await resetVersion(tx, scope, 'entry', uid);
    for (const [locale, values] of wanted) {
      if (locale === master) continue;
      try {
        await updateEntry(inner, scope, ct.uid, uid, { ...values, ...(tags ? { tags } : {}) }, { locale, draft: true });
      } catch (err) {
        throw inContentfulTerms(err, ct, locale);
      }
    }
    // Version 1, however many locales the entry was made in.
    const made = await requireEntry(tx, scope, uid);
    await shift(tx, scope, 'entry', uid, 1 - versionOf(made.lines));
    const e = await requireEntry(tx, scope, uid);
    return present(tx, scope, ctx, uid, ct, e.lines, master);
  }, GATHER);
}

/** Saves an entry (PUT): `sent` must be its current version; `autoSave` records auto_save instead of update. */
export async function saveEntry(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, sent: number | null, raw: unknown, autoSave: boolean) {
  return deps.db.tx(async (tx) => {
    const e = await requireEntry(tx, scope, uid);
    const current = versionOf(e.lines) + (await versionState(tx, scope, 'entry', uid)).offset;
    if (sent !== current) throw versionMismatch('the entry', sent, current);
    // Contentful checks a save against the content type's activated version: a draft has none. Only
    // entries written through /v3 (no activation there) sit on one: they may be deleted, not saved here.
    await requireActivated(tx, scope, e.ct);
    const { writes, tags, master } = await plan(tx, scope, e.ct, e.lines, raw);
    // A save that changes nothing is still a save (Contentful records it): the master line.
    if (writes.length === 0) {
      const m = e.lines.find((l) => l.locale === master) ?? e.lines[0];
      writes.push({ locale: m.locale, values: {} });
    }
    const inner = within(deps, tx);
    for (const w of writes) {
      try {
        await updateEntry(inner, scope, e.ct.uid, uid, { ...w.values, ...(tags ? { tags } : {}) }, { locale: w.locale, autoSave, draft: true });
      } catch (err) {
        throw inContentfulTerms(err, e.ct, w.locale);
      }
    }
    // One version, however many locales the save wrote.
    const after = await requireEntry(tx, scope, uid);
    await shift(tx, scope, 'entry', uid, current + 1 - (versionOf(after.lines) + (await versionState(tx, scope, 'entry', uid)).offset));
    return present(tx, scope, ctx, uid, after.ct, after.lines, master);
  }, GATHER);
}

/**
 * Contentful's `{ add: { fields: { '*': ['en-US'] } } }` / `{ remove: ... }` body of a publish or
 * unpublish: the locales named (Herald codes), or undefined for all.
 */
export function localesOf(body: unknown, key: 'add' | 'remove', codes: ReadonlySet<string>): string[] | undefined {
  if (!isObject(body) || !isObject(body[key])) return undefined;
  const fields = (body[key] as Record<string, unknown>).fields;
  const list = isObject(fields) ? fields['*'] : undefined;
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${key}.fields.*`, 'must be a non-empty list of locale codes');
  return list.map((c, i) => {
    const code = typeof c === 'string' ? c.toLowerCase() : '';
    if (!codes.has(code)) throw invalid(`${key}.fields.*.${i}`, `names locale ${JSON.stringify(c)}, which is not a locale of this space`);
    return code;
  });
}

async function ensureEnvironment(deps: ContentDeps, tx: Tx, scope: Scope, ctx: SysContext): Promise<EnvironmentDoc> {
  return (await publishEnvironment(tx, scope, ctx)) ?? createEnvironment(within(deps, tx).db, scope, { name: ctx.environmentId });
}

/** Publishes the entry (all its locales, or those the body names) to the environment's Herald environment. */
export async function publishEntryTo(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, sent: number | null, body: unknown) {
  let failed: unknown;
  const entity = await deps.db.tx(async (tx) => {
    const e = await requireEntry(tx, scope, uid);
    const current = versionOf(e.lines) + (await versionState(tx, scope, 'entry', uid)).offset;
    if (sent !== current) throw versionMismatch('the entry', sent, current);
    // An entry on a draft (written through /v3) cannot be published either.
    await requireActivated(tx, scope, e.ct);
    const loc = await locales(tx, scope.api_key);
    const chosen = localesOf(body, 'add', loc.codes) ?? e.lines.map((l) => l.locale);
    const env = await ensureEnvironment(deps, tx, scope, ctx);
    const outcomes = await publishEntry(within(deps, tx), scope, e.ct.uid, uid, { entry: { environments: [env.name], locales: chosen } });
    failed = outcomeError(`entry ${uid}`, outcomes);
    if (!failed) {
      const rows = ((await publicationsOf(tx, scope, 'entry', [uid])).get(uid) ?? []).filter((p) => p.environment === env.uid);
      await recordPublish(tx, scope, 'entry', uid, current, rows.reduce((n, r) => n + Number(r.version), 0));
    }
    return present(tx, scope, ctx, uid, e.ct, e.lines, loc.master);
  }, GATHER);
  // The publish.fail events are committed with any successes; the request still fails.
  if (failed) throw failed;
  return entity;
}

/** Unpublishes the entry from the environment (every locale it is published in, or those named). */
export async function unpublishEntryFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, body: unknown) {
  let failed: unknown;
  const entity = await deps.db.tx(async (tx) => {
    const e = await requireEntry(tx, scope, uid);
    const loc = await locales(tx, scope.api_key);
    const env = await publishEnvironment(tx, scope, ctx);
    const published = env ? ((await publicationsOf(tx, scope, 'entry', [uid])).get(uid) ?? []).filter((p) => p.environment === env.uid).map((p) => p.locale) : [];
    if (!env || published.length === 0) throw invalid('sys.publishedVersion', `entry ${uid} is not published in environment ${ctx.environmentId}`);
    const chosen = localesOf(body, 'remove', loc.codes) ?? [...new Set(published)];
    const outcomes = await unpublishEntry(within(deps, tx), scope, e.ct.uid, uid, { entry: { environments: [env.name], locales: chosen } });
    failed = outcomeError(`entry ${uid}`, outcomes);
    if (!failed) await shift(tx, scope, 'entry', uid, 1);
    return present(tx, scope, ctx, uid, e.ct, e.lines, loc.master);
  }, GATHER);
  if (failed) throw failed;
  return entity;
}

export async function archiveEntry(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, archived: boolean) {
  return deps.db.tx(async (tx) => {
    const e = await requireEntry(tx, scope, uid);
    await setEntryArchived(within(deps, tx), scope, e.ct.uid, uid, archived);
    await shift(tx, scope, 'entry', uid, 1);
    const after = await requireEntry(tx, scope, uid);
    return present(tx, scope, ctx, uid, after.ct, after.lines);
  }, GATHER);
}

export async function removeEntry(deps: ContentDeps, scope: Scope, uid: string) {
  await deps.db.tx(async (tx) => {
    const e = await requireEntry(tx, scope, uid);
    await deleteEntry(within(deps, tx), scope, e.ct.uid, uid);
  }, GATHER);
}

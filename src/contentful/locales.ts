import type { ContentDeps, Scope } from '../content/context.ts';
import { createLocale, deleteLocale, listLocales, masterLocale, updateLocale, type LocaleDoc } from '../content/locales.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, notFound, type FieldErrors } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { within } from './compose.ts';
import { contentfulLocale, link, type SysContext } from './entities.ts';
import { renameFields, validationFailed, versionMismatch } from './errors.ts';

/**
 * Locales in the Contentful dialect, over src/content/locales.ts (the same locales as
 * /v3/locales: stack-wide, so every environment of a space shows the same ones). A locale's
 * Contentful id is its Herald uid; its code is written Contentful's way (`de-DE`).
 *
 * Mapping: `fallbackCode` is Herald's `fallback_locale`; Herald's locales other than the master
 * always fall back, so `fallbackCode: null` falls back to the master locale (and shows so).
 * `optional` is kept as given and shown back (default: every locale but the master); Herald
 * checks required fields in every locale an entry has. `contentManagementApi` and
 * `contentDeliveryApi` are always true (Herald serves every locale through both APIs): false is
 * refused, naming the field.
 */

/** What the dialect keeps on a Herald locale (under `contentful`). */
interface LocaleMeta {
  optional?: boolean;
}

const metaOf = (l: LocaleDoc): LocaleMeta => (isObject(l.contentful) ? (l.contentful as LocaleMeta) : {});

export function presentLocale(l: LocaleDoc, master: string, ctx: SysContext) {
  const meta = metaOf(l);
  return {
    sys: {
      type: 'Locale',
      id: l.uid,
      version: Number(l._version ?? 1),
      space: link('Space', ctx.spaceId),
      environment: link('Environment', ctx.environmentId),
      createdAt: l.created_at,
      updatedAt: l.updated_at,
    },
    name: l.name,
    code: contentfulLocale(l.code),
    internal_code: contentfulLocale(l.code),
    fallbackCode: l.code === master ? null : contentfulLocale(l.fallback_locale ?? master),
    default: l.code === master,
    contentManagementApi: true,
    contentDeliveryApi: true,
    optional: meta.optional ?? l.code !== master,
  };
}

export async function listLocaleViews(q: Queryable, scope: Scope, ctx: SysContext) {
  const master = await masterLocale(q, scope.api_key);
  return (await listLocales(q, scope.api_key)).map((l) => presentLocale(l, master, ctx));
}

async function requireById(q: Queryable, scope: Scope, id: string): Promise<LocaleDoc> {
  const l = (await listLocales(q, scope.api_key)).find((x) => x.uid === id);
  if (!l) throw notFound(`Locale ${id}`);
  return l;
}

export async function getLocaleView(q: Queryable, scope: Scope, ctx: SysContext, id: string) {
  return presentLocale(await requireById(q, scope, id), await masterLocale(q, scope.api_key), ctx);
}

/** Herald's locale body from a Contentful one, and the dialect's own keys; problems by Contentful field name. */
function parse(raw: unknown, isMaster: boolean): { body: Record<string, unknown>; meta: LocaleMeta } {
  const errors: FieldErrors = fieldErrors();
  const add = (p: string, m: string) => (errors[p] ??= []).push(m);
  if (!isObject(raw)) throw validationFailed(Object.assign(fieldErrors(), { body: ['must be a locale: { "name": ..., "code": ... }'] }));
  const known = ['name', 'code', 'internal_code', 'fallbackCode', 'default', 'optional', 'contentManagementApi', 'contentDeliveryApi', 'sys'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) add(k, 'is not a field of locales');
  for (const k of ['contentManagementApi', 'contentDeliveryApi'] as const) {
    if (raw[k] !== undefined && raw[k] !== true) add(k, 'must be true: Herald serves every locale through both APIs');
  }
  if (raw.optional !== undefined && typeof raw.optional !== 'boolean') add('optional', 'must be true or false');
  if (raw.default !== undefined && raw.default !== isMaster) {
    add('default', isMaster ? 'cannot be unset: the master locale is set when the space is made' : "cannot be set here: the space's master locale is set when the space is made");
  }
  if (Object.keys(errors).length) throw validationFailed(errors);
  const body: Record<string, unknown> = {};
  if (raw.code !== undefined) body.code = raw.code;
  if (raw.name !== undefined) body.name = raw.name;
  if (raw.fallbackCode !== undefined) body.fallback_locale = raw.fallbackCode;
  return { body, meta: raw.optional !== undefined ? { optional: raw.optional as boolean } : {} };
}

const inContentfulTerms = (err: unknown) =>
  renameFields(err, (p) => ({ 'locale.code': 'code', 'locale.name': 'name', 'locale.fallback_locale': 'fallbackCode', locale: 'code' })[p] ?? p);

async function keepMeta(tx: Tx, apiKey: string, code: string, meta: LocaleMeta) {
  if (Object.keys(meta).length === 0) return;
  const row = await tx.get<{ doc: string }>('SELECT doc FROM locales WHERE api_key = ? AND code = ?', [apiKey, code]);
  const doc = json<LocaleDoc>(row!.doc);
  doc.contentful = { ...metaOf(doc), ...meta };
  await tx.run('UPDATE locales SET doc = ? WHERE api_key = ? AND code = ?', [JSON.stringify(doc), apiKey, code]);
}

/** `POST .../locales`: a new locale of the space (code and name required, as Contentful's). */
export async function createLocaleFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, raw: unknown) {
  return deps.db.tx(async (tx) => {
    const { body, meta } = parse(raw, false);
    if (body.name === undefined) body.name = body.code;
    let made: LocaleDoc;
    try {
      made = await createLocale(within(deps, tx).db, scope, body);
    } catch (err) {
      throw inContentfulTerms(err);
    }
    await keepMeta(tx, scope.api_key, made.code, meta);
    return getLocaleView(tx, scope, ctx, made.uid);
  });
}

/** `PUT .../locales/{id}` with `X-Contentful-Version`: name, fallbackCode, optional. */
export async function updateLocaleFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, id: string, sent: number | null, raw: unknown) {
  return deps.db.tx(async (tx) => {
    const current = await requireById(tx, scope, id);
    const version = Number(current._version ?? 1);
    if (sent !== version) throw versionMismatch('the locale', sent, version);
    const master = await masterLocale(tx, scope.api_key);
    const { body, meta } = parse(raw, current.code === master);
    // A master locale "falls back" to nothing; Contentful sends null for it.
    if (current.code === master && body.fallback_locale === null) delete body.fallback_locale;
    try {
      await updateLocale(within(deps, tx).db, scope, current.code, body);
    } catch (err) {
      throw inContentfulTerms(err);
    }
    await keepMeta(tx, scope.api_key, current.code, meta);
    return getLocaleView(tx, scope, ctx, id);
  });
}

export async function deleteLocaleFrom(deps: ContentDeps, scope: Scope, id: string) {
  await deps.db.tx(async (tx) => {
    const current = await requireById(tx, scope, id);
    try {
      await deleteLocale(within(deps, tx).db, scope, current.code);
    } catch (err) {
      throw inContentfulTerms(err);
    }
  });
}

import { HeraldError, invalid, notFound, type FieldErrors } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, type Db, type Queryable } from '../store/db.ts';
import { iso, type Scope } from './context.ts';
import { addError, throwIfErrors } from './field-errors.ts';
import { isObject } from './guards.ts';

/**
 * Locales (Contentstack "languages"): stack-wide, shared by every branch. The stack's master
 * locale exists from the start and cannot be deleted. Each other locale falls back to another
 * (by default the master): an entry not localized in a locale shows its fallback's content.
 */
export interface LocaleDoc {
  uid: string;
  code: string;
  name: string;
  fallback_locale: string | null;
  created_at: string;
  updated_at: string;
  created_by?: string;
  updated_by?: string;
  _version?: number;
  [key: string]: unknown;
}

const CODE = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;
/** Longest fallback chain followed; longer ones (and cycles) are refused when set. */
const MAX_CHAIN = 10;

export function normalizeCode(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const code = v.toLowerCase();
  return CODE.test(code) && code.length <= 35 ? code : undefined;
}

function render(doc: LocaleDoc, master: string): LocaleDoc {
  return {
    ...doc,
    fallback_locale: doc.code === master ? null : (doc.fallback_locale ?? master),
    ACL: doc.ACL ?? [],
    _version: doc._version ?? 1,
  };
}

/**
 * The stack's master locale, remembered per api_key once read: it is set when the stack is made and
 * nothing changes it (no code path updates or deletes a stack, see stacks.ts stackKnown), and every
 * entry write in the master locale asked for it (a read of the stacks row and a parse of its doc per
 * create). Only a stack read from the store is remembered; api keys are random, never reused.
 */
export async function masterLocale(q: Queryable, apiKey: string): Promise<string> {
  const known = masters.get(apiKey);
  if (known !== undefined) return known;
  const row = await q.get<{ doc: string }>('SELECT doc FROM stacks WHERE api_key = ?', [apiKey]);
  if (!row) throw notFound('Stack');
  const master = json<{ master_locale?: string }>(row.doc).master_locale ?? 'en-us';
  // Bounded (a key and a code are a few dozen bytes): past it, start again rather than grow.
  if (masters.size >= MASTERS) masters.clear();
  masters.set(apiKey, master);
  return master;
}

/** api_key -> master locale code, as masterLocale read them. */
const masters = new Map<string, string>();
const MASTERS = 10_000;

export async function listLocales(q: Queryable, apiKey: string): Promise<LocaleDoc[]> {
  const master = await masterLocale(q, apiKey);
  const rows = await q.all<{ doc: string }>('SELECT doc FROM locales WHERE api_key = ? ORDER BY created_at, code', [apiKey]);
  return rows.map((r) => render(json<LocaleDoc>(r.doc), master));
}

export async function getLocale(q: Queryable, apiKey: string, code: string): Promise<LocaleDoc | undefined> {
  const c = normalizeCode(code);
  if (!c) return undefined;
  const row = await q.get<{ doc: string }>('SELECT doc FROM locales WHERE api_key = ? AND code = ?', [apiKey, c]);
  if (!row) return undefined;
  return render(json<LocaleDoc>(row.doc), await masterLocale(q, apiKey));
}

/** The locale named by a request parameter (default: the master); a 422 naming `field` if unknown. */
export async function requireLocale(q: Queryable, apiKey: string, code: unknown, field = 'locale'): Promise<string> {
  if (code === undefined || code === '') return masterLocale(q, apiKey);
  const doc = typeof code === 'string' ? await getLocale(q, apiKey, code) : undefined;
  if (!doc) throw invalid(field, `names locale ${JSON.stringify(code)}, which is not a language of this stack`);
  return doc.code;
}

/** `code`, then its fallback, and so on, ending with the master locale. */
export async function fallbackChain(q: Queryable, apiKey: string, code: string): Promise<string[]> {
  const master = await masterLocale(q, apiKey);
  const rows = await q.all<{ code: string; doc: string }>('SELECT code, doc FROM locales WHERE api_key = ?', [apiKey]);
  const fallback = new Map(rows.map((r) => [r.code, json<LocaleDoc>(r.doc).fallback_locale ?? master]));
  const chain: string[] = [];
  let cur: string | null | undefined = code;
  while (cur && !chain.includes(cur) && chain.length < MAX_CHAIN) {
    chain.push(cur);
    cur = cur === master ? null : fallback.get(cur);
  }
  if (!chain.includes(master)) chain.push(master);
  return chain;
}

function checkName(raw: Record<string, unknown>, errors: FieldErrors, required: boolean): string | undefined {
  if (raw.name === undefined && !required) return undefined;
  if (typeof raw.name !== 'string' || raw.name.trim() === '' || raw.name.length > 255) {
    addError(errors, 'locale.name', 'must be a non-empty string of at most 255 characters');
    return undefined;
  }
  return raw.name.trim();
}

async function checkFallback(q: Queryable, apiKey: string, code: string, value: unknown, errors: FieldErrors): Promise<string | undefined> {
  if (value === undefined || value === null || value === '') return undefined;
  const fb = normalizeCode(value);
  if (!fb || !(await getLocale(q, apiKey, fb))) {
    addError(errors, 'locale.fallback_locale', `names locale ${JSON.stringify(value)}, which is not a language of this stack`);
    return undefined;
  }
  if (fb === code) {
    addError(errors, 'locale.fallback_locale', 'cannot be the locale itself');
    return undefined;
  }
  const chain = await fallbackChain(q, apiKey, fb);
  if (chain.includes(code)) addError(errors, 'locale.fallback_locale', `would make a cycle (${[code, ...chain.slice(0, chain.indexOf(code) + 1)].join(' -> ')})`);
  return fb;
}

export async function createLocale(db: Db, scope: Scope, raw: unknown): Promise<LocaleDoc> {
  if (!isObject(raw)) throw invalid('locale', raw === undefined ? 'is required' : 'must be an object');
  return db.tx(async (tx) => {
    const errors: FieldErrors = {};
    const code = normalizeCode(raw.code);
    if (!code) addError(errors, 'locale.code', 'must be a language code such as fr-fr');
    const name = checkName(raw, errors, false);
    const master = await masterLocale(tx, scope.api_key);
    const fallback = code ? await checkFallback(tx, scope.api_key, code, raw.fallback_locale, errors) : undefined;
    throwIfErrors(errors);
    if (await tx.get('SELECT 1 AS ok FROM locales WHERE api_key = ? AND code = ?', [scope.api_key, code])) {
      throw new HeraldError('conflict', `Locale ${code} already exists.`, { errors: { 'locale.code': ['already exists'] } });
    }
    const now = Date.now();
    const doc: LocaleDoc = {
      uid: bltUid(),
      code: code!,
      name: name ?? code!,
      fallback_locale: fallback ?? master,
      created_at: iso(now),
      updated_at: iso(now),
      created_by: scope.caller.actor,
      updated_by: scope.caller.actor,
      ACL: [],
      _version: 1,
    };
    await tx.run('INSERT INTO locales (api_key, code, uid, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [
      scope.api_key,
      doc.code,
      doc.uid,
      JSON.stringify(doc),
      now,
      now,
    ]);
    return render(doc, master);
  });
}

export async function updateLocale(db: Db, scope: Scope, code: string, raw: unknown): Promise<LocaleDoc> {
  if (!isObject(raw)) throw invalid('locale', raw === undefined ? 'is required' : 'must be an object');
  return db.tx(async (tx) => {
    const current = await getLocale(tx, scope.api_key, code);
    if (!current) throw notFound(`Locale ${code}`);
    const master = await masterLocale(tx, scope.api_key);
    const errors: FieldErrors = {};
    if (raw.code !== undefined && normalizeCode(raw.code) !== current.code) addError(errors, 'locale.code', 'cannot be changed');
    const name = checkName(raw, errors, false);
    let fallback = current.fallback_locale;
    if (raw.fallback_locale !== undefined) {
      if (current.code === master) {
        if (raw.fallback_locale !== null && raw.fallback_locale !== '') addError(errors, 'locale.fallback_locale', 'the master locale has no fallback');
      } else fallback = (await checkFallback(tx, scope.api_key, current.code, raw.fallback_locale, errors)) ?? master;
    }
    throwIfErrors(errors);
    const now = Date.now();
    const doc: LocaleDoc = {
      ...current,
      name: name ?? current.name,
      fallback_locale: fallback,
      updated_at: iso(now),
      updated_by: scope.caller.actor,
      _version: (current._version ?? 1) + 1,
    };
    await tx.run('UPDATE locales SET doc = ?, updated_at = ? WHERE api_key = ? AND code = ?', [JSON.stringify(doc), now, scope.api_key, current.code]);
    return render(doc, master);
  });
}

/**
 * Deletes a locale. Refused for the master locale, and while content still lives in it (entries
 * localized in it, or anything published to it) or another locale falls back to it: deleting
 * would drop content without its events.
 */
export async function deleteLocale(db: Db, scope: Scope, code: string): Promise<LocaleDoc> {
  return db.tx(async (tx) => {
    const current = await getLocale(tx, scope.api_key, code);
    if (!current) throw notFound(`Locale ${code}`);
    const master = await masterLocale(tx, scope.api_key);
    if (current.code === master) throw invalid('locale', `${current.code} is the master locale and cannot be deleted`);
    const entries = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM entries WHERE api_key = ? AND locale = ?', [scope.api_key, current.code]);
    if (Number(entries!.n) > 0) {
      throw new HeraldError('conflict', `Locale ${current.code} still has ${entries!.n} localized entries; delete those localized versions first.`, {
        errors: { locale: ['has localized entries'] },
      });
    }
    const published = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM publications WHERE api_key = ? AND locale = ?', [scope.api_key, current.code]);
    if (Number(published!.n) > 0) {
      throw new HeraldError('conflict', `Locale ${current.code} still has ${published!.n} published items; unpublish them first.`, {
        errors: { locale: ['has published items'] },
      });
    }
    const all = await listLocales(tx, scope.api_key);
    const dependents = all.filter((l) => l.code !== current.code && l.fallback_locale === current.code).map((l) => l.code);
    if (dependents.length) {
      throw new HeraldError('conflict', `Locale ${current.code} is the fallback of ${dependents.join(', ')}; change their fallback first.`, {
        errors: { locale: [`is the fallback of ${dependents.join(', ')}`] },
      });
    }
    await tx.run('DELETE FROM locales WHERE api_key = ? AND code = ?', [scope.api_key, current.code]);
    return current;
  });
}

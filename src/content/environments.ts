import { HeraldError, invalid, notFound, type FieldErrors } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, type Db, type Queryable } from '../store/db.ts';
import { iso, type Scope } from './context.ts';
import { getLocale } from './locales.ts';
import { addError, throwIfErrors } from './field-errors.ts';
import { isObject } from './guards.ts';

/**
 * Publishing environments (development, production...): stack-wide, shared by every branch,
 * addressed by name in the API (Contentstack's `/v3/environments/{name}`) and by uid in
 * `publish_details`, so a rename keeps what is published.
 */
export interface EnvironmentDoc {
  uid: string;
  name: string;
  urls: Array<{ locale: string; url: string }>;
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  _version: number;
  [key: string]: unknown;
}

/** Names appear in URL paths, so they keep to URL-safe characters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
const NAME_RULE = 'must be letters, digits, _ and - (at most 100, starting with a letter or digit)';

export async function listEnvironments(q: Queryable, apiKey: string): Promise<EnvironmentDoc[]> {
  const rows = await q.all<{ doc: string }>('SELECT doc FROM environments WHERE api_key = ? ORDER BY created_at, name', [apiKey]);
  return rows.map((r) => json<EnvironmentDoc>(r.doc));
}

export async function getEnvironment(q: Queryable, apiKey: string, name: string): Promise<EnvironmentDoc | undefined> {
  const row = await q.get<{ doc: string }>('SELECT doc FROM environments WHERE api_key = ? AND name = ?', [apiKey, name]);
  return row ? json<EnvironmentDoc>(row.doc) : undefined;
}

/**
 * The environments a publish request names (by name, or by uid as Contentstack also accepts),
 * deduplicated; a 422 naming `field` for an empty list or an unknown environment.
 */
export async function resolveEnvironments(q: Queryable, apiKey: string, names: unknown, field: string): Promise<EnvironmentDoc[]> {
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    throw invalid(field, 'must be a non-empty list of environment names');
  }
  const all = await listEnvironments(q, apiKey);
  const out: EnvironmentDoc[] = [];
  for (const n of names as string[]) {
    const env = all.find((e) => e.name === n) ?? all.find((e) => e.uid === n);
    if (!env) throw invalid(field, `names environment '${n}', which does not exist`);
    if (!out.includes(env)) out.push(env);
  }
  return out;
}

async function checkUrls(q: Queryable, apiKey: string, raw: unknown, errors: FieldErrors): Promise<EnvironmentDoc['urls'] | undefined> {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    addError(errors, 'environment.urls', 'must be a list of { locale, url }');
    return undefined;
  }
  const out: EnvironmentDoc['urls'] = [];
  for (const [i, u] of raw.entries()) {
    const p = `environment.urls[${i}]`;
    if (!isObject(u)) {
      addError(errors, p, 'must be { locale, url }');
      continue;
    }
    const locale = typeof u.locale === 'string' ? await getLocale(q, apiKey, u.locale) : undefined;
    if (!locale) addError(errors, `${p}.locale`, 'must name a language of this stack');
    let ok = typeof u.url === 'string';
    if (ok) {
      try {
        ok = ['http:', 'https:'].includes(new URL(u.url as string).protocol);
      } catch {
        ok = false;
      }
    }
    if (!ok) addError(errors, `${p}.url`, 'must be an http or https URL');
    if (locale && ok) out.push({ locale: locale.code, url: u.url as string });
  }
  return out;
}

function checkName(raw: Record<string, unknown>, errors: FieldErrors): string | undefined {
  if (typeof raw.name !== 'string' || !NAME.test(raw.name)) {
    addError(errors, 'environment.name', raw.name === undefined ? 'is required' : NAME_RULE);
    return undefined;
  }
  return raw.name;
}

async function taken(q: Queryable, apiKey: string, name: string): Promise<void> {
  if (await q.get('SELECT 1 AS ok FROM environments WHERE api_key = ? AND name = ?', [apiKey, name])) {
    throw new HeraldError('conflict', `Environment ${name} already exists.`, { errors: { 'environment.name': ['already exists'] } });
  }
}

export async function createEnvironment(db: Db, scope: Scope, raw: unknown): Promise<EnvironmentDoc> {
  if (!isObject(raw)) throw invalid('environment', raw === undefined ? 'is required' : 'must be an object');
  return db.tx(async (tx) => {
    const errors: FieldErrors = {};
    const name = checkName(raw, errors);
    const urls = await checkUrls(tx, scope.api_key, raw.urls, errors);
    throwIfErrors(errors);
    await taken(tx, scope.api_key, name!);
    const now = Date.now();
    const doc: EnvironmentDoc = {
      uid: bltUid(),
      name: name!,
      urls: urls ?? [],
      deploy_content: raw.deploy_content === true,
      servers: [],
      created_at: iso(now),
      updated_at: iso(now),
      created_by: scope.caller.actor,
      updated_by: scope.caller.actor,
      ACL: [],
      _version: 1,
    };
    await tx.run('INSERT INTO environments (api_key, uid, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [
      scope.api_key,
      doc.uid,
      doc.name,
      JSON.stringify(doc),
      now,
      now,
    ]);
    return doc;
  });
}

/** Updates name (a rename keeps publications), urls and deploy_content; other keys are ignored. */
export async function updateEnvironment(db: Db, scope: Scope, name: string, raw: unknown): Promise<EnvironmentDoc> {
  if (!isObject(raw)) throw invalid('environment', raw === undefined ? 'is required' : 'must be an object');
  return db.tx(async (tx) => {
    const current = await getEnvironment(tx, scope.api_key, name);
    if (!current) throw notFound(`Environment ${name}`);
    const errors: FieldErrors = {};
    const newName = raw.name === undefined ? current.name : checkName(raw, errors);
    const urls = await checkUrls(tx, scope.api_key, raw.urls, errors);
    throwIfErrors(errors);
    if (newName !== current.name) await taken(tx, scope.api_key, newName!);
    const now = Date.now();
    const doc: EnvironmentDoc = {
      ...current,
      name: newName!,
      urls: urls ?? current.urls,
      deploy_content: typeof raw.deploy_content === 'boolean' ? raw.deploy_content : current.deploy_content,
      updated_at: iso(now),
      updated_by: scope.caller.actor,
      _version: current._version + 1,
    };
    await tx.run('UPDATE environments SET name = ?, doc = ?, updated_at = ? WHERE api_key = ? AND uid = ?', [
      doc.name,
      JSON.stringify(doc),
      now,
      scope.api_key,
      doc.uid,
    ]);
    return doc;
  });
}

/** Refused while anything is published to it: deleting would unpublish without events. */
export async function deleteEnvironment(db: Db, scope: Scope, name: string): Promise<EnvironmentDoc> {
  return db.tx(async (tx) => {
    const current = await getEnvironment(tx, scope.api_key, name);
    if (!current) throw notFound(`Environment ${name}`);
    const published = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM publications WHERE api_key = ? AND environment = ?', [scope.api_key, current.uid]);
    if (Number(published!.n) > 0) {
      throw new HeraldError('conflict', `Environment ${name} still has ${published!.n} published items; unpublish them first.`, {
        errors: { environment: ['has published items'] },
      });
    }
    await tx.run('DELETE FROM environments WHERE api_key = ? AND uid = ?', [scope.api_key, current.uid]);
    return current;
  });
}

import { hashToken, mask, newToken } from '../auth/secrets.ts';
import { iso } from '../content/context.ts';
import { isObject } from '../content/guards.ts';
import { branchOf, environmentIdOf, link } from '../contentful/entities.ts';
import { fieldErrors, HeraldError, notFound } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, repeated, type Db, type Queryable } from '../store/db.ts';

/**
 * Contentful API keys (`/spaces/{space}/api_keys`): a Content Delivery API key and, made with it,
 * its Content Preview API key (`/spaces/{space}/preview_api_keys`), each reading the environments
 * it names (Herald branches). Kept in `delivery_tokens` (dialect contentful) like Contentstack's
 * delivery tokens: hashed, shown once (the create response carries both tokens: the preview one
 * in `preview_api_key.accessToken`), masked afterwards, revoked by deleting the key.
 *
 * Key values start with a prefix that routes their requests to the delivery API
 * (src/http/credential.ts): a delivery key reads what is published, a preview key drafts too.
 */
export const DELIVERY_KEY_PREFIX = 'cfdlv_';
export const PREVIEW_KEY_PREFIX = 'cfprv_';

interface Row {
  uid: string;
  kind: 'delivery' | 'preview';
  name: string;
  token_last4: string;
  branches: string;
  pair_uid: string | null;
  doc: string;
  created_at: number;
  updated_at: number;
}

interface Stored {
  description: string;
  version: number;
  created_by: string;
  updated_by: string;
}

function present(spaceId: string, r: Row, token: string, preview?: { uid: string; token?: string }) {
  const doc = json<Stored>(r.doc);
  const sys = {
    type: r.kind === 'delivery' ? 'ApiKey' : 'PreviewApiKey',
    id: r.uid,
    version: doc.version,
    space: link('Space', spaceId),
    createdAt: iso(Number(r.created_at)),
    updatedAt: iso(Number(r.updated_at)),
    createdBy: link('User', doc.created_by),
    updatedBy: link('User', doc.updated_by),
  };
  return {
    name: r.name,
    description: doc.description,
    accessToken: token,
    policies: [{ effect: 'allow', actions: 'all' }],
    environments: json<string[]>(r.branches).map((b) => link('Environment', environmentIdOf(b))),
    ...(preview ? { preview_api_key: { ...link('PreviewApiKey', preview.uid), ...(preview.token ? { accessToken: preview.token } : {}) } } : {}),
    sys,
  };
}

const masked = (last4: string) => mask('x'.repeat(12) + last4)!;

/** Reads `{ name, description, environments: [Links] }`; environments default to master. */
async function parseKey(q: Queryable, apiKey: string, raw: unknown, current?: { name: string; description: string; branches: string[] }) {
  const errors = fieldErrors();
  if (!isObject(raw)) throw new HeraldError('validation_failed', 'The body must be an API key: { "name": ..., "environments": [...] }.', { errors: { body: ['must be an object'] } });
  const name = raw.name ?? current?.name;
  if (typeof name !== 'string' || name.trim() === '') errors.name = ['is required (a non-empty string)'];
  const description = raw.description ?? current?.description ?? '';
  if (typeof description !== 'string') errors.description = ['must be a string'];
  let branches = current?.branches ?? ['main'];
  if (raw.environments !== undefined) {
    const ids = Array.isArray(raw.environments) ? raw.environments.map((e) => (isObject(e) && isObject(e.sys) ? e.sys.id : undefined)) : [];
    if (!Array.isArray(raw.environments) || ids.length === 0 || !ids.every((i) => typeof i === 'string')) errors.environments = ['must be a non-empty list of Links to environments'];
    else {
      branches = [...new Set((ids as string[]).map(branchOf))];
      const known = await q.all<{ uid: string }>(`SELECT uid FROM branches WHERE api_key = ? AND uid IN (${repeated(branches.length)})`, [apiKey, ...branches]);
      const missing = branches.filter((b) => !known.some((k) => k.uid === b));
      if (missing.length) errors.environments = [`names environment ${environmentIdOf(missing[0])}, which does not exist`];
    }
  }
  for (const k of Object.keys(raw)) if (!['name', 'description', 'environments', 'sys', 'policies', 'accessToken', 'preview_api_key'].includes(k)) (errors[k] ??= []).push('is not a field of API keys');
  if (Object.keys(errors).length) throw new HeraldError('validation_failed', 'The API key is not valid.', { errors });
  return { name: (name as string).trim(), description: description as string, branches };
}

export async function createApiKey(db: Db, spaceId: string, actor: string, raw: unknown) {
  const k = await parseKey(db, spaceId, raw);
  const now = Date.now();
  const delivery = newToken(DELIVERY_KEY_PREFIX);
  const preview = newToken(PREVIEW_KEY_PREFIX);
  const doc = JSON.stringify({ description: k.description, version: 1, created_by: actor, updated_by: actor } satisfies Stored);
  const d: Row = { uid: bltUid(), kind: 'delivery', name: k.name, token_last4: delivery.slice(-4), branches: JSON.stringify(k.branches), pair_uid: null, doc, created_at: now, updated_at: now };
  const p: Row = { ...d, uid: bltUid(), kind: 'preview', token_last4: preview.slice(-4), pair_uid: d.uid };
  await db.tx(async (tx) => {
    for (const [r, token] of [
      [d, delivery],
      [p, preview],
    ] as const) {
      await tx.run(
        `INSERT INTO delivery_tokens (uid, api_key, dialect, kind, name, token_hash, token_last4, environments, branches, pair_uid, doc, created_at, updated_at)
         VALUES (?, ?, 'contentful', ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?)`,
        [r.uid, spaceId, r.kind, r.name, hashToken(token), r.token_last4, r.branches, r.pair_uid, r.doc, now, now],
      );
    }
  });
  return present(spaceId, d, delivery, { uid: p.uid, token: preview });
}

async function rows(q: Queryable, spaceId: string, kind: Row['kind'], uid?: string): Promise<Row[]> {
  return q.all<Row>(
    `SELECT uid, kind, name, token_last4, branches, pair_uid, doc, created_at, updated_at FROM delivery_tokens
     WHERE api_key = ? AND dialect = 'contentful' AND kind = ?${uid ? ' AND uid = ?' : ''} ORDER BY created_at, uid`,
    uid ? [spaceId, kind, uid] : [spaceId, kind],
  );
}

async function previewOf(q: Queryable, spaceId: string, deliveryUid: string): Promise<Row | undefined> {
  return q.get<Row>("SELECT uid FROM delivery_tokens WHERE api_key = ? AND dialect = 'contentful' AND kind = 'preview' AND pair_uid = ?", [spaceId, deliveryUid]);
}

export async function listApiKeys(q: Queryable, spaceId: string) {
  const out = [];
  for (const r of await rows(q, spaceId, 'delivery')) out.push(present(spaceId, r, masked(r.token_last4), { uid: (await previewOf(q, spaceId, r.uid))?.uid ?? '' }));
  return out;
}

export async function getApiKey(q: Queryable, spaceId: string, uid: string) {
  const [r] = await rows(q, spaceId, 'delivery', uid);
  if (!r) throw notFound('API key');
  return present(spaceId, r, masked(r.token_last4), { uid: (await previewOf(q, spaceId, r.uid))?.uid ?? '' });
}

export async function listPreviewKeys(q: Queryable, spaceId: string) {
  return (await rows(q, spaceId, 'preview')).map((r) => present(spaceId, r, masked(r.token_last4)));
}

export async function getPreviewKey(q: Queryable, spaceId: string, uid: string) {
  const [r] = await rows(q, spaceId, 'preview', uid);
  if (!r) throw notFound('Preview API key');
  return present(spaceId, r, masked(r.token_last4));
}

/** Renames or re-scopes a key and its preview key (their values stay). */
export async function updateApiKey(db: Db, spaceId: string, uid: string, actor: string, raw: unknown) {
  const [r] = await rows(db, spaceId, 'delivery', uid);
  if (!r) throw notFound('API key');
  const stored = json<Stored>(r.doc);
  const k = await parseKey(db, spaceId, raw, { name: r.name, description: stored.description, branches: json(r.branches) });
  const now = Date.now();
  const doc = JSON.stringify({ ...stored, description: k.description, version: stored.version + 1, updated_by: actor } satisfies Stored);
  await db.run("UPDATE delivery_tokens SET name = ?, branches = ?, doc = ?, updated_at = ? WHERE api_key = ? AND dialect = 'contentful' AND (uid = ? OR pair_uid = ?)", [
    k.name,
    JSON.stringify(k.branches),
    doc,
    now,
    spaceId,
    uid,
    uid,
  ]);
  return getApiKey(db, spaceId, uid);
}

/** Revokes a key and its preview key. */
export async function deleteApiKey(db: Db, spaceId: string, uid: string): Promise<void> {
  const { changes } = await db.run("DELETE FROM delivery_tokens WHERE api_key = ? AND dialect = 'contentful' AND (uid = ? OR pair_uid = ?)", [spaceId, uid, uid]);
  if (changes === 0) throw notFound('API key');
}

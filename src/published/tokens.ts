import { hashToken, mask, newToken } from '../auth/secrets.ts';
import { iso } from '../content/context.ts';
import { listEnvironments, resolveEnvironments, type EnvironmentDoc } from '../content/environments.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, HeraldError, invalid, notFound } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, repeated, type Db, type Queryable } from '../store/db.ts';

/**
 * Delivery tokens: read-only credentials of the delivery APIs, scoped to environments and
 * branches, as Contentstack's (`/v3/stacks/delivery_tokens`). Stored hashed (SHA-256, like
 * management tokens), shown once at creation, listed masked, revoked by deleting them.
 * Contentful API keys (src/published/contentful-keys.ts) live in the same table.
 */
export type TokenKind = 'delivery' | 'preview';
export type Dialect = 'contentstack' | 'contentful';

/** Who a delivery request comes from, once its token checked out. */
export interface Reader {
  api_key: string;
  token_uid: string;
  dialect: Dialect;
  kind: TokenKind;
  /** Environment uids it may read (Contentstack tokens). */
  environments: string[];
  /** Branch uids it may read. */
  branches: string[];
}

interface TokenRow {
  uid: string;
  api_key: string;
  dialect: Dialect;
  kind: TokenKind;
  name: string;
  token_last4: string;
  environments: string;
  branches: string;
  pair_uid: string | null;
  doc: string;
  created_at: number;
  updated_at: number;
}

/** The stored part of a Contentstack delivery token (environments and branches live in their columns). */
interface StoredDoc {
  uid: string;
  name: string;
  description: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

/** Finds the token's reader, or undefined for an unknown or revoked token. */
export async function readerOf(q: Queryable, token: string): Promise<Reader | undefined> {
  const row = await q.get<TokenRow>('SELECT uid, api_key, dialect, kind, environments, branches FROM delivery_tokens WHERE token_hash = ?', [hashToken(token)]);
  if (!row) return undefined;
  return {
    api_key: row.api_key,
    token_uid: row.uid,
    dialect: row.dialect,
    kind: row.kind,
    environments: json<string[]>(row.environments),
    branches: json<string[]>(row.branches),
  };
}

interface Scope {
  api_key: string;
  branches: string[];
  environments: EnvironmentDoc[];
  name: string;
  description: string;
}

/** Reads `{ token: { name, description, scope: [{ module: 'environment', environments }, { module: 'branch', branches }] } }`. */
async function parseToken(q: Queryable, apiKey: string, body: unknown, current?: Scope): Promise<Scope> {
  const raw = isObject(body) ? body.token : undefined;
  if (!isObject(raw)) throw invalid('token', raw === undefined ? 'is required: { name, scope: [...] }' : 'must be an object');
  const errors = fieldErrors();
  const add = (f: string, m: string) => (errors[f] ??= []).push(m);
  const name = raw.name === undefined && current ? current.name : raw.name;
  if (typeof name !== 'string' || name.trim() === '') add('token.name', 'is required (a non-empty string)');
  const description = raw.description === undefined ? (current?.description ?? '') : raw.description;
  if (typeof description !== 'string') add('token.description', 'must be a string');
  let environments = current?.environments;
  let branches = current?.branches ?? ['main'];
  if (raw.scope !== undefined || !current) {
    if (!Array.isArray(raw.scope)) add('token.scope', 'is required: [{ module: "environment", environments: [names] }, { module: "branch", branches: [uids] }]');
    else {
      environments = undefined;
      for (const [i, s] of raw.scope.entries()) {
        const p = `token.scope[${i}]`;
        if (!isObject(s)) {
          add(p, 'must be an object');
          continue;
        }
        if (isObject(s.acl) && s.acl.write === true) add(`${p}.acl.write`, 'is not possible: delivery tokens only read');
        if (s.module === 'environment') {
          try {
            environments = await resolveEnvironments(q, apiKey, s.environments, `${p}.environments`);
          } catch (err) {
            if (err instanceof HeraldError && err.errors) Object.assign(errors, err.errors);
            else throw err;
          }
        } else if (s.module === 'branch' || s.module === 'branch_alias') {
          if (s.module === 'branch_alias') add(`${p}.module`, 'branch_alias is not supported: name branches');
          else if (!Array.isArray(s.branches) || s.branches.length === 0 || !s.branches.every((b) => typeof b === 'string')) add(`${p}.branches`, 'must be a non-empty list of branch uids');
          else {
            const known = await q.all<{ uid: string }>(`SELECT uid FROM branches WHERE api_key = ? AND uid IN (${repeated(s.branches.length)})`, [apiKey, ...s.branches]);
            const missing = (s.branches as string[]).filter((b) => !known.some((k) => k.uid === b));
            if (missing.length) add(`${p}.branches`, `names branch '${missing[0]}', which does not exist`);
            branches = [...new Set(s.branches as string[])];
          }
        } else add(`${p}.module`, `must be environment or branch (got ${JSON.stringify(s.module)})`);
      }
      if (!environments && !errors['token.scope']) add('token.scope', 'needs { module: "environment", environments: [names] }: a delivery token reads published content of its environments');
    }
  }
  if (Object.keys(errors).length) throw new HeraldError('validation_failed', 'The delivery token is not valid.', { errors });
  return { api_key: apiKey, name: (name as string).trim(), description: description as string, environments: environments!, branches };
}

function present(row: Pick<TokenRow, 'doc' | 'environments' | 'branches'>, envs: EnvironmentDoc[], token: string) {
  const doc = json<StoredDoc>(row.doc);
  const uids = json<string[]>(row.environments);
  return {
    ...doc,
    scope: [
      {
        module: 'environment',
        environments: uids.map((u) => {
          const e = envs.find((x) => x.uid === u);
          return { uid: u, name: e?.name ?? null };
        }),
        acl: { read: true },
      },
      { module: 'branch', branches: json<string[]>(row.branches), acl: { read: true } },
    ],
    token,
    type: 'delivery',
  };
}

/** Creates a delivery token; the response is the only place its value ever appears. */
export async function createDeliveryToken(db: Db, apiKey: string, actor: string, body: unknown) {
  const s = await parseToken(db, apiKey, body);
  const token = newToken('cs');
  const now = Date.now();
  const doc: StoredDoc = { uid: bltUid(), name: s.name, description: s.description, created_by: actor, updated_by: actor, created_at: iso(now), updated_at: iso(now) };
  const row = { doc: JSON.stringify(doc), environments: JSON.stringify(s.environments.map((e) => e.uid)), branches: JSON.stringify(s.branches) };
  await db.run(
    `INSERT INTO delivery_tokens (uid, api_key, dialect, kind, name, token_hash, token_last4, environments, branches, pair_uid, doc, created_at, updated_at)
     VALUES (?, ?, 'contentstack', 'delivery', ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
    [doc.uid, apiKey, s.name, hashToken(token), token.slice(-4), row.environments, row.branches, row.doc, now, now],
  );
  return present(row, s.environments, token);
}

const masked = (last4: string) => mask('x'.repeat(12) + last4)!;

export async function listDeliveryTokens(q: Queryable, apiKey: string) {
  const rows = await q.all<TokenRow>("SELECT * FROM delivery_tokens WHERE api_key = ? AND dialect = 'contentstack' ORDER BY created_at, uid", [apiKey]);
  const envs = await listEnvironments(q, apiKey);
  return rows.map((r) => present(r, envs, masked(r.token_last4)));
}

async function requireRow(q: Queryable, apiKey: string, uid: string): Promise<TokenRow> {
  const row = await q.get<TokenRow>("SELECT * FROM delivery_tokens WHERE api_key = ? AND uid = ? AND dialect = 'contentstack'", [apiKey, uid]);
  if (!row) throw notFound('Delivery token');
  return row;
}

export async function getDeliveryToken(q: Queryable, apiKey: string, uid: string) {
  const row = await requireRow(q, apiKey, uid);
  return present(row, await listEnvironments(q, apiKey), masked(row.token_last4));
}

/** Renames, describes or re-scopes a token; its value stays (revoke and create to change it). */
export async function updateDeliveryToken(db: Db, apiKey: string, uid: string, actor: string, body: unknown) {
  const row = await requireRow(db, apiKey, uid);
  const envs = await listEnvironments(db, apiKey);
  const uids = json<string[]>(row.environments);
  const current: Scope = { api_key: apiKey, name: row.name, description: json<StoredDoc>(row.doc).description, branches: json<string[]>(row.branches), environments: envs.filter((e) => uids.includes(e.uid)) };
  const s = await parseToken(db, apiKey, body, current);
  const now = Date.now();
  const doc: StoredDoc = { ...json<StoredDoc>(row.doc), name: s.name, description: s.description, updated_by: actor, updated_at: iso(now) };
  const next = { doc: JSON.stringify(doc), environments: JSON.stringify(s.environments.map((e) => e.uid)), branches: JSON.stringify(s.branches) };
  await db.run('UPDATE delivery_tokens SET name = ?, environments = ?, branches = ?, doc = ?, updated_at = ? WHERE api_key = ? AND uid = ?', [
    s.name,
    next.environments,
    next.branches,
    next.doc,
    now,
    apiKey,
    uid,
  ]);
  return present(next, envs, masked(row.token_last4));
}

/** Revokes a token: requests with it are refused from now on. */
export async function deleteDeliveryToken(db: Db, apiKey: string, uid: string): Promise<void> {
  const { changes } = await db.run("DELETE FROM delivery_tokens WHERE api_key = ? AND uid = ? AND dialect = 'contentstack'", [apiKey, uid]);
  if (changes === 0) throw notFound('Delivery token');
}

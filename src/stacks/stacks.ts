import type { Caller } from '../auth/caller.ts';
import { invalid } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, type Db, type Queryable } from '../store/db.ts';

/**
 * Stacks (Contentstack's container of content; a Contentful space): the `stacks` table. A stack is
 * born with its branch `main` and its master locale.
 */
export interface StackDoc {
  uid: string;
  api_key: string;
  name: string;
  description: string;
  master_locale: string;
  created_at: string;
  updated_at: string;
  owner_uid: string;
  [key: string]: unknown;
}

/** Creates a stack from a request's `{ stack: { name, description?, master_locale? } }` (422 naming a bad field). */
export async function createStack(db: Db, body: unknown, caller: Caller): Promise<StackDoc> {
  const input = (body as { stack?: { name?: unknown; description?: unknown; master_locale?: unknown } } | null)?.stack;
  if (!input || typeof input !== 'object') throw invalid('stack', 'is required');
  if (typeof input.name !== 'string' || input.name.trim() === '') throw invalid('stack.name', 'is required');
  const masterLocale = input.master_locale === undefined ? 'en-us' : input.master_locale;
  if (typeof masterLocale !== 'string' || !/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(masterLocale)) {
    throw invalid('stack.master_locale', 'must be a locale code such as en-us');
  }
  const now = Date.now();
  const apiKey = bltUid();
  const stack: StackDoc = {
    uid: apiKey,
    api_key: apiKey,
    name: input.name.trim(),
    description: typeof input.description === 'string' ? input.description : '',
    master_locale: masterLocale.toLowerCase(),
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    owner_uid: caller.actor,
  };
  await db.tx(async (tx) => {
    await tx.run('INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [apiKey, stack.name, JSON.stringify(stack), now, now]);
    const branch = { uid: 'main', source: '', alias: [], created_at: stack.created_at, updated_at: stack.created_at };
    await tx.run('INSERT INTO branches (api_key, uid, source, doc, created_at, publications_copied) VALUES (?, ?, NULL, ?, ?, 0)', [apiKey, 'main', JSON.stringify(branch), now]);
    const locale = { uid: bltUid(), code: stack.master_locale, name: stack.master_locale, fallback_locale: null, created_at: stack.created_at, updated_at: stack.created_at };
    await tx.run('INSERT INTO locales (api_key, code, uid, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [
      apiKey,
      locale.code,
      locale.uid,
      JSON.stringify(locale),
      now,
      now,
    ]);
  });
  return stack;
}

/** A stack by api_key, or undefined. */
export async function getStack(q: Queryable, apiKey: string): Promise<StackDoc | undefined> {
  const row = await q.get<{ doc: string }>('SELECT doc FROM stacks WHERE api_key = ?', [apiKey]);
  return row ? json<StackDoc>(row.doc) : undefined;
}

/** Whether stack `apiKey` exists. */
export async function stackExists(q: Queryable, apiKey: string): Promise<boolean> {
  return Boolean(await q.get('SELECT 1 AS ok FROM stacks WHERE api_key = ?', [apiKey]));
}

/**
 * Whether stack `apiKey` exists, as stackExists, remembering each stack found (per store): no code
 * path deletes a stack, so a stack found once exists for good, and only the first request naming
 * it reads the stacks table (every management request checks its stack: ~40 us a read under load
 * on SQLite's reader connection, which drops its page cache after every commit by the writer). A
 * key not found is read again every time: another process (PostgreSQL) may create it. Reads
 * through the store outside any transaction, so only committed stacks are remembered. (A code path
 * that deleted stacks would have to empty knownStacks.)
 */
export async function stackKnown(db: Db, apiKey: string): Promise<boolean> {
  let found = knownStacks.get(db);
  if (found?.has(apiKey)) return true;
  if (!(await stackExists(db, apiKey))) return false;
  if (!found) knownStacks.set(db, (found = new Set()));
  // Bounded (a key is ~19 bytes): past it, start again rather than grow.
  if (found.size >= KNOWN_STACKS) found.clear();
  found.add(apiKey);
  return true;
}

/** Stacks stackKnown found, per store. */
const knownStacks = new WeakMap<Db, Set<string>>();
const KNOWN_STACKS = 10_000;

/** The stacks a caller can see, oldest first: every one for the admin, its own for a token. */
export async function listStacks(q: Queryable, caller: Caller): Promise<StackDoc[]> {
  const rows =
    caller.kind === 'admin'
      ? await q.all<{ doc: string }>('SELECT doc FROM stacks ORDER BY created_at')
      : await q.all<{ doc: string }>('SELECT doc FROM stacks WHERE api_key = ?', [caller.api_key]);
  return rows.map((r) => json<StackDoc>(r.doc));
}

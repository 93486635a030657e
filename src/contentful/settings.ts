import { HeraldError } from '../errors.ts';
import { SIGNING_SECRET_LENGTH } from '../delivery/contentful.ts';
import type { Queryable } from '../store/db.ts';

/**
 * A space's webhook settings (`/spaces/{space}/webhook_settings/...`), kept in
 * `contentful_spaces`:
 *
 * - signing secret: 64 characters; while set, every Contentful-format request of the space
 *   carries Contentful's request verification headers (src/delivery/contentful.ts). Never
 *   returned once set: reads show its last 4 characters.
 * - retry policy `maxRetries`: how many times a failed call of the space's Contentful-format
 *   webhooks is retried (so `1 + maxRetries` attempts in all). The waits between them follow
 *   Herald's schedule (`HERALD_RETRY_DELAYS`, default 1 minute each): its first `maxRetries`
 *   delays, the last one repeated when the policy asks for more retries than the schedule has.
 *   Without a policy, those webhooks follow the schedule as every other webhook does.
 *   Contentstack-format webhooks of the space are not affected: the policy is Contentful's.
 */

/** Most retries a policy may ask for. */
export const MAX_RETRIES_LIMIT = 10;

export interface SpaceSettings {
  signing_secret: string | null;
  signing_secret_at: number | null;
  max_retries: number | null;
  retry_policy_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Why `value` cannot be a signing secret, or null. Pure. */
export function signingSecretProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a string of ${SIGNING_SECRET_LENGTH} characters`;
  if (value.length !== SIGNING_SECRET_LENGTH) return `must be exactly ${SIGNING_SECRET_LENGTH} characters (it has ${value.length})`;
  if (!/^[\x21-\x7e]+$/.test(value)) return 'must contain only printable ASCII characters without spaces';
  return null;
}

/** Why `value` cannot be `maxRetries`, or null. Pure. */
export function maxRetriesProblem(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RETRIES_LIMIT) {
    return `must be a whole number from 0 to ${MAX_RETRIES_LIMIT}`;
  }
  return null;
}

/**
 * The waits (ms) before each retry for a policy of `maxRetries`, from the engine's `schedule`:
 * its first `maxRetries` delays, the last one repeated beyond its length (one minute when the
 * schedule is empty). Pure.
 */
export function retrySchedule(schedule: readonly number[], maxRetries: number): number[] {
  const last = schedule.length ? schedule[schedule.length - 1] : 60_000;
  return Array.from({ length: maxRetries }, (_, i) => (i < schedule.length ? schedule[i] : last));
}

export async function getSpaceSettings(q: Queryable, apiKey: string): Promise<SpaceSettings | undefined> {
  const row = await q.get<SpaceSettings>(
    'SELECT signing_secret, signing_secret_at, max_retries, retry_policy_at, created_at, updated_at FROM contentful_spaces WHERE api_key = ?',
    [apiKey],
  );
  if (!row) return undefined;
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    signing_secret: row.signing_secret ?? null,
    signing_secret_at: n(row.signing_secret_at),
    max_retries: n(row.max_retries),
    retry_policy_at: n(row.retry_policy_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

/** Sets (or, with null, removes) the space's signing secret. */
export async function setSigningSecret(q: Queryable, apiKey: string, secret: string | null, now: number): Promise<void> {
  await q.run(
    `INSERT INTO contentful_spaces (api_key, signing_secret, signing_secret_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (api_key) DO UPDATE SET signing_secret = excluded.signing_secret, signing_secret_at = excluded.signing_secret_at, updated_at = excluded.updated_at`,
    [apiKey, secret, secret === null ? null : now, now, now],
  );
}

/** Sets (or, with null, removes) the space's retry policy. */
export async function setRetryPolicy(q: Queryable, apiKey: string, maxRetries: number | null, now: number): Promise<void> {
  await q.run(
    `INSERT INTO contentful_spaces (api_key, max_retries, retry_policy_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (api_key) DO UPDATE SET max_retries = excluded.max_retries, retry_policy_at = excluded.retry_policy_at, updated_at = excluded.updated_at`,
    [apiKey, maxRetries, maxRetries === null ? null : now, now, now],
  );
}

/** A 404 for a setting that is not set, in words. */
export const notSet = (what: string) => new HeraldError('not_found', `This space has no ${what}.`);

import { randomBytes } from 'node:crypto';
import type { SigningSecret } from './webhook.ts';

/**
 * A webhook's signing secrets over time (Standard Webhooks `whsec_...`): one current secret, plus,
 * during a rotation, the previous one until its `expires_at`, so deliveries signed before the
 * rotation (and their retries) still verify against either. Pure.
 */

/** Standard Webhooks secrets read `whsec_` + base64 of the key (signed with in delivery/signature.ts). */
export const SECRET_PREFIX = 'whsec_';
/** Bytes of key in a generated secret (the scheme asks for at least 24). */
export const SECRET_BYTES = 32;

export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** How long the previous secret keeps signing after a rotation, ms (24 h). */
export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;
/** Longest grace period a rotation may ask for, hours (30 days). */
export const MAX_GRACE_HOURS = 720;
/** Key bytes a given secret must carry: at least 24 (the scheme's minimum), at most 64. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

/** Why `text` is not an acceptable signing secret, or null. */
export function signingSecretProblem(text: unknown): string | null {
  const shape = `must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes`;
  if (typeof text !== 'string' || !text.startsWith(SECRET_PREFIX)) return shape;
  const b64 = text.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return shape;
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) return shape;
  return null;
}

/** The secrets that sign a delivery at `now`, current first. */
export function liveSecrets(secrets: readonly SigningSecret[], now: number): SigningSecret[] {
  return secrets.filter((s) => s.expires_at === null || s.expires_at > now);
}

/** The current secret (the one without an expiry), if any. */
export function currentSecret(secrets: readonly SigningSecret[]): string | null {
  return secrets.find((s) => s.expires_at === null)?.secret ?? null;
}

/**
 * Makes `next` the current secret. The previous current one keeps signing until `now + graceMs`
 * (dropped at once when `graceMs` is 0); secrets already expired are dropped. Rotating to the
 * secret that is already current changes nothing.
 */
export function rotateSecrets(secrets: readonly SigningSecret[], next: string, now: number, graceMs = DEFAULT_GRACE_MS): SigningSecret[] {
  if (currentSecret(secrets) === next) return [...secrets];
  const kept = liveSecrets(secrets, now)
    .filter((s) => s.secret !== next)
    .map((s) => (s.expires_at === null ? { secret: s.secret, expires_at: now + graceMs } : s))
    .filter((s) => s.expires_at! > now);
  return [{ secret: next, expires_at: null }, ...kept];
}

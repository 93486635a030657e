import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tokens are stored as their SHA-256 (hex); a token is high-entropy, so no slow hash is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * hashToken of a token a request presents (to authenticate it, or to key its rate-limit counter),
 * remembered for the tokens presented lately: every management request hashed its token twice
 * (its rate-limit key, then authentication), ~5-15 us each under load, and a site's requests
 * carry the same few tokens. Bounded: emptied when full, so a caller inventing tokens keeps it
 * small. Holds presented tokens in memory as their requests' headers do (never logged or
 * returned); tokens Herald makes are hashed with hashToken and not kept.
 */
export function hashPresentedToken(token: string): string {
  let hash = presentedHashes.get(token);
  if (hash === undefined) {
    hash = hashToken(token);
    if (presentedHashes.size >= PRESENTED_HASHES) presentedHashes.clear();
    presentedHashes.set(token, hash);
  }
  return hash;
}

/** Presented token -> its hash, at most PRESENTED_HASHES of them (hashPresentedToken). */
const presentedHashes = new Map<string, string>();
const PRESENTED_HASHES = 64;

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A new secret token: prefix + 32 random bytes, base64url. */
export function newToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/**
 * How a secret is shown once it was set: never the value, only its last 4 characters (and none of
 * it when it is short enough that 4 characters would be a large part of it).
 */
export function mask(secret: string | null | undefined): string | null {
  if (!secret) return secret === '' ? '' : null;
  return secret.length >= 12 ? `****${secret.slice(-4)}` : '****';
}

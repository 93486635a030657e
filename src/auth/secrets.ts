import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Tokens are stored as their SHA-256 (hex); a token is high-entropy, so no slow hash is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

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

import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { SECRET_PREFIX } from '../webhooks/signing-secrets.ts';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver recomputes
 * HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{raw body}` with the secret's key and compares.
 * Verifiable with the public `standardwebhooks` and `svix` libraries, unmodified. Secrets are made
 * in webhooks/signing-secrets.ts.
 */

/** The key bytes of a `whsec_...` secret. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/**
 * HMAC keys by secret: decoding the secret's base64 on every attempt was avoidable work. Bounded
 * (cleared past KEYS_KEPT: rotated secrets are not kept forever).
 */
const keys = new Map<string, KeyObject>();
const KEYS_KEPT = 10_000;

function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(secretKey(secret));
    if (keys.size >= KEYS_KEPT) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

/** One `v1,<base64>` signature. */
export function signOnce(secret: string, id: string, timestampSec: number, body: string | Buffer): string {
  // Two updates, not one of `${id}.${timestampSec}.${body}`: the joined text was a flat copy of
  // the whole body per attempt (1.2 KB of a 30 KB delivery); the MAC is the same.
  const mac = createHmac('sha256', hmacKey(secret)).update(`${id}.${timestampSec}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * The `webhook-signature` header value: one `v1,` entry per secret, space-separated. During a
 * rotation both the new and the old secret sign, so a receiver holding either verifies. `body`
 * as text or as its UTF-8 bytes: the same MAC.
 */
export function signatureHeader(secrets: string[], id: string, timestampSec: number, body: string | Buffer): string {
  if (secrets.length === 1) return signOnce(secrets[0], id, timestampSec, body);
  return secrets.map((s) => signOnce(s, id, timestampSec, body)).join(' ');
}

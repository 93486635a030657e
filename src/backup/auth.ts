import { createHash, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Who may talk to the backup center. A delivery is accepted when its Standard Webhooks signature
 * verifies with one of the configured secrets (checked by the public `standardwebhooks` library,
 * which also refuses timestamps more than 5 minutes off), or when it carries the configured basic
 * auth credentials. The browse pages and API take the same basic auth when it is configured.
 */
export type Verdict = { ok: true; by: 'signature' | 'basic_auth' } | { ok: false; reason: string };

export interface DeliveryAuth {
  secrets: string[];
  basicAuth?: { user: string; password: string };
}

/** Compares secrets in constant time whatever their lengths. */
function same(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Whether an `authorization` header carries exactly these basic auth credentials. */
export function basicAuthMatches(header: string | undefined, expected: { user: string; password: string }): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return false;
  // Both compared, always: no early exit that tells which half was wrong.
  const user = same(text.slice(0, i), expected.user);
  const password = same(text.slice(i + 1), expected.password);
  return user && password;
}

export function deliveryVerifier(auth: DeliveryAuth) {
  const verifiers = auth.secrets.map((s) => new Webhook(s));
  return (headers: Record<string, string | string[] | undefined>, body: Buffer): Verdict => {
    const h = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (auth.basicAuth && basicAuthMatches(h('authorization'), auth.basicAuth)) return { ok: true, by: 'basic_auth' };
    if (verifiers.length) {
      const id = h('webhook-id');
      const timestamp = h('webhook-timestamp');
      const signature = h('webhook-signature');
      if (!id || !timestamp || !signature) return { ok: false, reason: 'The delivery is not signed: webhook-id, webhook-timestamp and webhook-signature are required.' };
      let last = '';
      for (const v of verifiers) {
        try {
          v.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
          return { ok: true, by: 'signature' };
        } catch (err) {
          last = (err as Error).message;
        }
      }
      return { ok: false, reason: `The delivery's signature does not verify (${last}).` };
    }
    return { ok: false, reason: 'The delivery does not carry the expected basic auth credentials.' };
  };
}

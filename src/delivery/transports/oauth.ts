import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Destination } from '../../webhooks/webhook.ts';
import { outcomeOfError, type Outcome } from '../policy.ts';

/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4) for a destination: the token is asked for
 * once, kept until shortly before it expires, and shared by every attempt of every webhook with the
 * same token URL and client; concurrent attempts share one request for it. The HTTP transport asks
 * for a fresh one once when the endpoint answers 401 (`refresh` with the token it sent).
 *
 * Token request: `POST access_token_url[?request_query_parameters]` with
 * `grant_type=client_credentials` (and `scope` when set), the client authenticated with HTTP Basic
 * (`client_id:client_secret`, each form-urlencoded first, RFC 6749 section 2.3.1, which every
 * authorization server must support). The answer must be JSON with `access_token` and a
 * `token_type` of Bearer; `expires_in` (seconds) sets how long it is kept.
 */

/** Kept this long when the token server gives no `expires_in`, ms (a 401 refreshes it sooner). */
export const DEFAULT_TOKEN_LIFETIME_MS = 3_600_000;
/** A token is renewed this long before it expires: a tenth of its lifetime, at most this, ms. */
export const MAX_EXPIRY_MARGIN_MS = 30_000;
/** Bytes of a token response read at most. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** Why a token could not be had, with the outcome the attempt is recorded with. */
export class TokenError extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

interface Cached {
  token: string;
  /** When to stop using it, ms since the epoch. */
  renewAt: number;
}

export class TokenCache {
  private tokens = new Map<string, Cached>();
  private pending = new Map<string, Promise<Cached>>();
  /** Token requests made (tests and metrics read it). */
  requests = 0;

  constructor(private agent: () => Dispatcher) {}

  /** A valid token for the destination, asking for one when none is kept; rejects with a TokenError. */
  async token(d: Destination, timeoutMs: number): Promise<string> {
    const key = keyOf(d);
    const kept = this.tokens.get(key);
    if (kept && kept.renewAt > Date.now()) return kept.token;
    return (await this.fetchOnce(key, d, timeoutMs)).token;
  }

  /**
   * The endpoint refused `rejected` (401): forget it (unless a newer one replaced it meanwhile)
   * and return a fresh one, asked for once however many attempts were refused at the same time.
   */
  async refresh(d: Destination, rejected: string, timeoutMs: number): Promise<string> {
    const key = keyOf(d);
    const kept = this.tokens.get(key);
    if (kept && kept.token !== rejected && kept.renewAt > Date.now()) return kept.token;
    if (kept?.token === rejected) this.tokens.delete(key);
    return (await this.fetchOnce(key, d, timeoutMs)).token;
  }

  private fetchOnce(key: string, d: Destination, timeoutMs: number): Promise<Cached> {
    let p = this.pending.get(key);
    if (!p) {
      p = this.request(d, timeoutMs).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
      p.then((c) => this.tokens.set(key, c), () => {});
    }
    return p;
  }

  private async request(d: Destination, timeoutMs: number): Promise<Cached> {
    this.requests++;
    const url = tokenUrl(d);
    const where = `the OAuth token request to ${url.origin}${url.pathname}`;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (d.scope) form.set('scope', d.scope);
    const basic = Buffer.from(`${formEncode(d.client_id ?? '')}:${formEncode(d.client_secret ?? '')}`).toString('base64');
    let status: number;
    let text: string;
    try {
      const res = await this.agent().request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      text = await readCapped(res.body);
    } catch (err) {
      const outcome = outcomeOfError(err);
      const e = err as Error;
      const what = outcome === 'refused' ? 'connection refused' : outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : e.message;
      throw new TokenError(outcome, `${where} failed: ${what}`);
    }
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text);
    } catch {}
    if (status < 200 || status >= 300) {
      // RFC 6749 section 5.2: `error` and `error_description` say why.
      const said = body && typeof body.error === 'string' ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 200)})` : ''}` : '';
      throw new TokenError('rejected', `${where} was refused with HTTP ${status}${said}`);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token === '') throw new TokenError('rejected', `${where} answered without an access_token (the answer must be JSON: RFC 6749 section 5.1)`);
    const type = body?.token_type;
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') throw new TokenError('rejected', `${where} gave a token of type "${type.slice(0, 40)}"; only Bearer tokens can be sent`);
    const expiresIn = Number(body?.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    return { token, renewAt: Date.now() + lifetime - Math.min(MAX_EXPIRY_MARGIN_MS, lifetime / 10) };
  }
}

/** The token URL with Contentstack's request query parameters appended. */
export function tokenUrl(d: Destination): URL {
  const url = new URL(d.access_token_url!);
  const params = (d.request_query_parameters ?? '').replace(/^\?/, '');
  if (params && params !== '=') {
    for (const [k, v] of new URLSearchParams(params)) if (k) url.searchParams.append(k, v);
  }
  return url;
}

/** application/x-www-form-urlencoded, as RFC 6749 section 2.3.1 asks for the Basic credentials. */
function formEncode(s: string): string {
  return new URLSearchParams({ s }).toString().slice(2);
}

function keyOf(d: Destination): string {
  return createHash('sha256')
    .update([d.access_token_url, d.request_query_parameters ?? '', d.client_id, d.client_secret, d.scope ?? ''].join('\u0000'))
    .digest('base64url');
}

async function readCapped(body: AsyncIterable<unknown> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    chunks.push(b);
    n += b.length;
    if (n > MAX_TOKEN_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

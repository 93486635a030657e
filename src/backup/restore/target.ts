import { HeraldError, type ErrorCode } from '../../errors.ts';

/**
 * The Herald a restore writes to, through its public Content Management API only (`/v3/...`),
 * as any client would: JSON bodies, multipart for asset files, `api_key` + `authorization`
 * headers, and `branch` for a branch other than main. Making a missing branch goes to the stack
 * (no `branch` header) or, for a named Contentful environment, to the Contentful dialect.
 */
export interface TargetOptions {
  /** Herald's base URL, e.g. http://127.0.0.1:4100 */
  url: string;
  api_key: string;
  /** A management token of the stack, or the admin token. Never logged or reported. */
  token: string;
  branch: string;
}

/** Per request, ms. */
export const TARGET_TIMEOUT_MS = 60_000;
/** Times a rate-limited (429) call is sent again. */
const RATE_LIMIT_RETRIES = 5;

/**
 * Which API of the target a call is for: the branch's `/v3` (the default); the stack's own `/v3`
 * resources (`/v3/stacks/branches`: no `branch` header, the branch may not exist yet); the
 * Contentful dialect (`/spaces/...`: the token as `Authorization: Bearer`).
 */
export type Api = 'branch' | 'stack' | 'contentful';

export interface CallOptions {
  api?: Api;
  /** More request headers (`X-Contentful-Source-Environment`). */
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  body: any;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large', 422: 'validation_failed', 429: 'rate_limited' };

export class Target {
  constructor(readonly o: TargetOptions) {}

  /** Identifies the target stack and branch in the uid map. */
  get key(): string {
    return `${this.o.url}|${this.o.api_key}|${this.o.branch}`;
  }

  private headers(api: Api): Record<string, string> {
    if (api === 'contentful') return { authorization: `Bearer ${this.o.token}` };
    return { api_key: this.o.api_key, authorization: this.o.token, ...(api === 'branch' && this.o.branch !== 'main' ? { branch: this.o.branch } : {}) };
  }

  /**
   * Any answer, as is (a 404 is an answer, not an error). A 429 is waited out (its Retry-After,
   * at most a minute) and sent again, a few times: a whole-stack restore makes many calls.
   */
  async call(method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<Answer> {
    for (let i = 0; ; i++) {
      const a = await this.once(method, path, body, o);
      if (a.status !== 429 || i >= RATE_LIMIT_RETRIES) return a;
      const seconds = Math.min(Number(a.retryAfter) || 1, 60);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    }
  }

  private async once(method: string, path: string, body: unknown, o: CallOptions): Promise<Answer & { retryAfter: string | null }> {
    const isForm = body instanceof FormData;
    let res: Response;
    try {
      res = await fetch(this.o.url + path, {
        method,
        headers: { ...this.headers(o.api ?? 'branch'), ...o.headers, ...(body !== undefined && !isForm ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(TARGET_TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new HeraldError('unavailable', `The target Herald at ${this.o.url} is unreachable (${cause}).`, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
  }

  /** A 2xx answer's body; anything else is a HeraldError carrying Herald's own message and fields. */
  async send(method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<any> {
    const a = await this.call(method, path, body, o);
    if (a.status >= 200 && a.status < 300) return a.body;
    throw refusal(method, path, a);
  }

  /** Whether GET `path` finds something (200) or not (404); other answers are errors. */
  async exists(path: string, o: CallOptions = {}): Promise<boolean> {
    const a = await this.call('GET', path, undefined, o);
    if (a.status === 200) return true;
    if (a.status === 404) return false;
    throw refusal('GET', path, a);
  }
}

function refusal(method: string, path: string, a: Answer): HeraldError {
  // Contentstack's error body says `error_message`, Contentful's `message`.
  const message = typeof a.body === 'object' && (a.body?.error_message || a.body?.message) ? (a.body.error_message ?? a.body.message) : String(a.body ?? '').slice(0, 300);
  const code = CODE_BY_STATUS[a.status] ?? (a.status >= 500 ? 'unavailable' : 'bad_request');
  return new HeraldError(code, `The target Herald refused ${method} ${path.split('?')[0]} (${a.status}): ${message}`, {
    errors: typeof a.body === 'object' && a.body?.errors ? a.body.errors : undefined,
  });
}

import * as contentstack from '@contentstack/management';
import type { TestHerald } from '../../helpers/herald.ts';

// Under ESM the CommonJS build's default export is the module object itself (stack.md).
const cs = ((contentstack as { default?: unknown }).default ?? contentstack) as { client(opts: Record<string, unknown>): any };

export interface TestStack {
  api_key: string;
  token: string;
  /** The official client's stack, on branch main unless given. */
  stack: any;
  /** Headers for raw requests with this stack's management token. */
  headers: Record<string, string>;
}

/** A fresh stack on `h`, with the official client pointed at it (no retries, so errors show). */
export async function clientStack(h: { url: string; newStack: TestHerald['newStack'] }, name?: string): Promise<TestStack> {
  const { api_key, token } = await h.newStack(name);
  return { api_key, token, stack: stackOf(h.url, api_key, token), headers: { api_key, authorization: token } };
}

/**
 * The SDK's client options for tests: no retries of any kind, so a failure shows as itself. Its
 * network retries (on ECONNRESET or a 5xx) go through a URL check that, in the bundled build, refuses
 * every IP address (NODE_ENV is compiled in as production), so a retried request against 127.0.0.1
 * died as an uncaught "SSRF Prevention: Base URL ... is not allowed" instead of naming the failure.
 */
export function clientOptions(url: string): Record<string, unknown> {
  return { endpoint: url + '/v3', retryOnError: false, retryOnNetworkFailure: false, logHandler: () => {} };
}

export function stackOf(url: string, api_key: string, token: string, branch?: string): any {
  const client = cs.client(clientOptions(url));
  return client.stack({ api_key, management_token: token, ...(branch ? { branch_uid: branch } : {}) });
}

export interface SeenEvent {
  seq: number;
  module: string;
  action: string;
  uid: string;
  branch: string;
  content_type_uid: string | null;
  locale: string | null;
  environment: string | null;
  actor: string;
  data: any;
}

/** The stack's events after `after`, read through GET /v3/events. */
export async function eventsAfter(h: TestHerald, s: TestStack, after = 0): Promise<SeenEvent[]> {
  const r = await h.request('GET', `/v3/events?after=${after}&limit=1000`, { headers: s.headers });
  if (r.status !== 200) throw new Error(`events: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.events;
}

/** The last event seq of the stack so far (0 if none), to read only what a test does next. */
export async function lastSeq(h: TestHerald, s: TestStack): Promise<number> {
  const events = await eventsAfter(h, s);
  return events.length ? events[events.length - 1].seq : 0;
}

/** `module.action` (with `@environment/locale` for publish events), for compact assertions. */
export function label(e: SeenEvent): string {
  return `${e.module}.${e.action}${e.environment ? `@${e.environment}/${e.locale}` : ''}`;
}

/** The error the official client throws, for assert.rejects. */
export function clientError(status: number, field?: string | RegExp) {
  return (err: any) => {
    if (err.status !== status) throw new Error(`expected ${status}, got ${err.status}: ${err.errorMessage ?? err.message}`);
    if (field instanceof RegExp) {
      if (!Object.keys(err.errors ?? {}).some((k) => field.test(k))) throw new Error(`no error field matching ${field}: ${JSON.stringify(err.errors)}`);
    } else if (field && !(field in (err.errors ?? {}))) {
      throw new Error(`no error for ${field}: ${JSON.stringify(err.errors)} (${err.errorMessage})`);
    }
    return true;
  };
}

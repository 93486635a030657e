import type { EventInput, HeraldEvent } from '../../src/events/event.ts';
import type { TestHerald } from './herald.ts';

export interface Stack {
  api_key: string;
  token: string;
}

/** Creates a webhook through the API; returns the created webhook (with its one-time signing secret). */
export async function createWebhook(h: Pick<TestHerald, 'request'>, stack: Stack, url: string, over: Record<string, unknown> = {}) {
  const r = await h.request('POST', '/v3/webhooks', {
    headers: { api_key: stack.api_key, authorization: stack.token },
    body: {
      webhook: {
        name: 'test hook',
        destinations: [{ target_url: url, http_basic_auth: '', http_basic_password: '', custom_header: [] }],
        channels: ['*.*'],
        ...over,
      },
    },
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`webhook create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.webhook as { uid: string; signing_secret: string; [k: string]: unknown };
}

/**
 * Records an event the way a content change does (same transaction as a change would use), so
 * engine tests can drive exact sequences of events without going through the content API.
 */
export async function emit(h: TestHerald, stack: Stack, e: Partial<EventInput> = {}): Promise<HeraldEvent> {
  return h.herald.db.tx((tx) => h.herald.events.record(tx, eventInput(stack, e)));
}

/**
 * Records these events in one transaction, in order: they are committed at one instant, however
 * slow the machine is (a test whose events must fall inside one window, e.g. a batch's).
 */
export async function emitTogether(h: TestHerald, stack: Stack, es: Array<Partial<EventInput>>): Promise<HeraldEvent[]> {
  return h.herald.db.tx(async (tx) => {
    const out: HeraldEvent[] = [];
    for (const e of es) out.push(await h.herald.events.record(tx, eventInput(stack, e)));
    return out;
  });
}

function eventInput(stack: Stack, e: Partial<EventInput>): EventInput {
  return {
    api_key: stack.api_key,
    branch: 'main',
    module: 'entry',
    action: 'update',
    uid: 'bltentry0001',
    content_type_uid: 'blog',
    locale: 'en-us',
    actor: 'test',
    data: { entry: { uid: e.uid ?? 'bltentry0001', title: 'Hello' }, content_type: { uid: 'blog', title: 'Blog' } },
    ...e,
  };
}

export async function executions(h: Pick<TestHerald, 'request'>, stack: Stack, webhookUid: string, query = '') {
  const r = await h.request('GET', `/v3/webhooks/${webhookUid}/executions?limit=100${query}`, {
    headers: { api_key: stack.api_key, authorization: stack.token },
  });
  if (r.status !== 200) throw new Error(`executions failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.webhooks as any[];
}

/** Polls `check` until it returns a truthy value (for states the API reports asynchronously). */
export async function until<T>(check: () => Promise<T> | T, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * How long a child process running Herald's CLI may take to start (to listen, to start its sender
 * threads, to exit on a bad flag), ms. Each compiles src/ with tsx first: ~50 s was seen at load 16
 * on a 2-core machine (30 and 60 s limits timed out there), a few seconds alone. Generous: the tests
 * that wait this long are about what the process does once started (test/run.ts allows 480 s a test).
 */
export const PROCESS_START_MS = 180_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

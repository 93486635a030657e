import { verifyRequest } from '@contentful/node-apps-toolkit';
import { createClient } from 'contentful-management';
import { startHerald, type TestHerald } from '../../helpers/herald.ts';
import { startReceiver, type Received } from '../../helpers/receiver.ts';

/** A 64-character Contentful signing secret for tests. */
export const SIGNING_SECRET = 'Contentful-signing-secret-for-Herald-tests-0123456789abcdefghijk';

/** The official client, plain API, pointed at a running Herald (uploads too). */
export function contentfulClient(h: TestHerald, token: string) {
  const host = `127.0.0.1:${new URL(h.url).port}`;
  // retryOnError off: a 5xx or 429 must show, not be retried by the client.
  return createClient({ accessToken: token, host, hostUpload: host, insecure: true, retryOnError: false } as Parameters<typeof createClient>[0], { type: 'plain' });
}

export type Client = ReturnType<typeof contentfulClient>;

/** What the client throws: its name is Contentful's `sys.id`, its message JSON with status and details. */
export async function refusal(p: Promise<unknown>): Promise<{ name: string; status: number; message: string; details: any }> {
  try {
    await p;
  } catch (err: any) {
    let parsed: any;
    try {
      parsed = JSON.parse(err.message);
    } catch {
      throw err;
    }
    return { name: err.name, status: parsed.status, message: parsed.message, details: parsed.details };
  }
  throw new Error('the request was accepted');
}

/** A receiver that checks every request with `verifyRequest(secret, request)`, unmodified. */
export async function verifyingReceiver(secret = SIGNING_SECRET) {
  const verified = new Map<Received, boolean | string>();
  const r = await startReceiver((req) => {
    try {
      verified.set(req, verifyRequest(secret, { method: req.method as 'POST', path: req.url, headers: req.headers as Record<string, string>, body: req.body }));
    } catch (err) {
      verified.set(req, String(err));
    }
  });
  return Object.assign(r, {
    verified,
    /** Requests whose X-Contentful-Topic is `topic`. */
    topic: (topic: string) => r.received.filter((x) => x.headers['x-contentful-topic'] === topic),
    topics: () => r.received.map((x) => String(x.headers['x-contentful-topic'])),
  });
}

/** Waits until `check` holds (polls every 20 ms), or fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'the condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startSpace() {
  const h = await startHerald();
  const space = await h.newStack('Contentful space');
  const client = contentfulClient(h, space.token);
  return { h, space, client, spaceId: space.api_key, env: { spaceId: space.api_key, environmentId: 'master' } };
}

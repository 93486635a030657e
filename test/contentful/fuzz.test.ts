import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';

/** Random JSON at the Contentful dialect's routes: always a 4xx naming the problem or a success, never a 500. */
describe('the Contentful routes under random input', () => {
  let h: TestHerald;
  let space: { api_key: string; token: string };

  before(async () => {
    h = await startHerald({ rateLimit: 0 });
    space = await h.newStack();
    // Something for ids to resolve to now and then.
    await h.request('PUT', `/spaces/${space.api_key}/environments/master/content_types/ct1`, {
      headers: { authorization: `Bearer ${space.token}` },
      body: { name: 'CT', fields: [{ id: 'title', name: 'T', type: 'Symbol' }, { id: 'ref', name: 'R', type: 'Link', linkType: 'Entry' }] },
    });
  });
  after(() => h.close());

  it('answers 2,000 random requests without a 500, in the Contentful error shape', async () => {
    let seed = 42; // fixed: a failure replays
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const keys = ['name', 'url', 'topics', 'filters', 'headers', 'active', 'transformation', 'fields', 'metadata', 'value', 'maxRetries', 'displayField', 'title', 'file', 'en-US', 'key', 'secret', 'type', 'id', 'items', 'linkType', 'validations', 'equals', 'doc', 'method', 'body', 'uploadFrom', 'upload', 'fileName', 'contentType', 'add', 'remove', '*', 'sys', '__proto__', 'constructor'];
    const atoms: unknown[] = [null, true, 0, -1, 1.5, 1e308, '', 'x', 'Entry.publish', '*.*', 'en-US', 'master', '{ /payload/sys/id }', 'data:,%', 'http://127.0.0.1:9/x', { sys: { type: 'Link', linkType: 'Entry', id: 'x' } }, [], {}];
    const value = (d = 0): unknown => {
      const r = rnd();
      if (d > 3 || r < 0.4) return pick(atoms);
      if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(d + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(rnd() * 4); i++) o[pick(keys)] = value(d + 1);
      return o;
    };
    const sp = space.api_key;
    const routes: Array<[string, string]> = [
      ['POST', `/spaces/${sp}/webhook_definitions`],
      ['PUT', `/spaces/${sp}/webhook_definitions/abc`],
      ['PUT', `/spaces/${sp}/webhook_settings/signing_secret`],
      ['PUT', `/spaces/${sp}/webhook_settings/retry_policy`],
      ['POST', `/spaces/${sp}/environments/master/content_types`],
      ['PUT', `/spaces/${sp}/environments/master/content_types/ct1`],
      ['PUT', `/spaces/${sp}/environments/master/content_types/ct1/published`],
      ['POST', `/spaces/${sp}/environments/master/entries`],
      ['PUT', `/spaces/${sp}/environments/master/entries/e1`],
      ['PUT', `/spaces/${sp}/environments/master/entries/e1/published`],
      ['POST', `/spaces/${sp}/environments/master/assets`],
      ['PUT', `/spaces/${sp}/environments/master/assets/a1`],
      ['POST', `/spaces/${sp}/uploads`],
      ['GET', `/spaces/${sp}/environments/master/entries?skip=x&limit=-1`],
      ['GET', `/spaces/${sp}/webhooks/x/calls?limit=abc`],
    ];
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const [method, path] = pick(routes);
      const headers: Record<string, string> = { authorization: `Bearer ${space.token}` };
      if (rnd() < 0.5) headers['x-contentful-version'] = String(pick([0, 1, 2, 'x', -1]));
      if (rnd() < 0.5) headers['x-contentful-content-type'] = pick(['ct1', 'nope', '']);
      const r = await h.request(method, path, method === 'GET' ? { headers } : { headers, body: value() ?? null });
      if (r.status >= 500) failures.push(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      else if (r.status >= 400 && r.body?.sys?.type !== 'Error') failures.push(`${method} ${path}: ${r.status} not in Contentful's error shape`);
    }
    assert.deepEqual(failures, []);
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { tokenFromQuery } from '../../src/http/query-token.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { contentfulClient, type Client } from './helpers/space.ts';

/** A stream that keeps every JSON line written to it. */
function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(l);
      done();
    },
  });
  return { lines, stream };
}

describe('the token as ?access_token= (Contentful: "two ways to send the authentication token")', () => {
  it('moves the parameter to Authorization: Bearer, keeping the other parameters as sent', () => {
    assert.deepEqual(tokenFromQuery('/spaces/s/entries?limit=1&access_token=a%2Bb&fields.title%5Bmatch%5D=x+y', undefined), {
      url: '/spaces/s/entries?limit=1&fields.title%5Bmatch%5D=x+y',
      authorization: 'Bearer a+b',
    });
    assert.deepEqual(tokenFromQuery('/spaces/s?access_token=t', undefined), { url: '/spaces/s', authorization: 'Bearer t' });
    // Outside the Contentful dialect, with a header too, or twice: left in the URL (refused under /spaces/).
    assert.deepEqual(tokenFromQuery('/v3/entries?access_token=t', undefined), { url: '/v3/entries?access_token=t' });
    assert.deepEqual(tokenFromQuery('/spaces/s?access_token=t', 'Bearer u'), { url: '/spaces/s?access_token=t' });
    assert.deepEqual(tokenFromQuery('/spaces/s?access_token=t&access_token=u', undefined), { url: '/spaces/s?access_token=t&access_token=u' });
    assert.deepEqual(tokenFromQuery('/spaces/s?access_token=', undefined), { url: '/spaces/s?access_token=' });
  });

  describe('a running Herald', () => {
    let h: TestHerald;
    let client: Client;
    let spaceId: string;
    let token: string;
    let otherToken: string;
    let deliveryKey: string;
    const out = sink();
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${h.url}${path}`, { headers });
    const body = async (r: Response) => ({ status: r.status, json: await r.json() });

    before(async () => {
      h = await startHerald({ logLevel: 'trace', logTo: out.stream });
      const space = await h.newStack('Query token space');
      ({ api_key: spaceId, token } = space);
      otherToken = (await h.newStack('Another space')).token;
      client = contentfulClient(h, token);
      const env = { spaceId, environmentId: 'master' };
      const ct = await client.contentType.createWithId({ ...env, contentTypeId: 'note' }, { name: 'Note', displayField: 'title', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }] } as any);
      await client.contentType.publish({ ...env, contentTypeId: 'note' }, ct);
      const entry = await client.entry.createWithId({ ...env, entryId: 'first', contentTypeId: 'note' }, { fields: { title: { 'en-US': 'First' } } });
      await client.entry.publish({ ...env, entryId: 'first' }, entry);
      const key = await client.apiKey.create({ spaceId }, { name: 'site', environments: [{ sys: { type: 'Link', linkType: 'Environment', id: 'master' } }] } as any);
      deliveryKey = key.accessToken;
    });
    after(() => h.close());

    it('answers a management read and write authenticated by the query as by the header', async () => {
      const path = `/spaces/${spaceId}/environments/master/entries?content_type=note`;
      const byHeader = await body(await get(path, { authorization: `Bearer ${token}` }));
      const byQuery = await body(await get(`${path}&access_token=${token}`));
      assert.equal(byQuery.status, 200);
      assert.deepEqual(byQuery.json, byHeader.json);
      assert.deepEqual(byQuery.json.items.map((e: any) => e.sys.id), ['first']);

      const made = await fetch(`${h.url}/spaces/${spaceId}/environments/master/entries/second?access_token=${encodeURIComponent(token)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-content-type': 'note' },
        body: JSON.stringify({ fields: { title: { 'en-US': 'Second' } } }),
      });
      assert.equal(made.status, 201, await made.clone().text());
      assert.equal((await client.entry.get({ spaceId, environmentId: 'master', entryId: 'second' })).fields.title['en-US'], 'Second');
    });

    it('fails as the header does: a wrong token 401, another space 404, and never echoes the token', async () => {
      const path = `/spaces/${spaceId}/environments/master/entries`;
      const wrongHeader = await body(await get(path, { authorization: 'Bearer wrong-token' }));
      const wrongQuery = await body(await get(`${path}?access_token=wrong-token`));
      assert.deepEqual([wrongQuery.status, wrongQuery.json.sys.id], [401, wrongHeader.json.sys.id]);
      const elsewhereHeader = await body(await get(path, { authorization: `Bearer ${otherToken}` }));
      const elsewhereQuery = await body(await get(`${path}?access_token=${otherToken}`));
      assert.deepEqual([elsewhereQuery.status, elsewhereQuery.json.sys.id], [404, elsewhereHeader.json.sys.id]);
      assert.ok(!JSON.stringify(elsewhereQuery.json).includes(otherToken));
    });

    it('reads the Content Delivery API with a delivery key in the query', async () => {
      const path = `/spaces/${spaceId}/environments/master/entries?content_type=note`;
      const byHeader = await body(await get(path, { authorization: `Bearer ${deliveryKey}` }));
      const byQuery = await body(await get(`${path}&access_token=${deliveryKey}`));
      assert.equal(byQuery.status, 200);
      assert.deepEqual(byQuery.json.items.map((e: any) => e.fields.title), ['First'], 'published entries, delivery shape');
      assert.deepEqual(byQuery.json, byHeader.json);
    });

    it('refuses a token sent both ways, naming access_token, and writes nothing', async () => {
      const r = await fetch(`${h.url}/spaces/${spaceId}/environments/master/entries/third?access_token=${token}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-content-type': 'note' },
        body: JSON.stringify({ fields: { title: { 'en-US': 'Third' } } }),
      });
      const answer = await r.json();
      assert.deepEqual([r.status, answer.details.errors[0].path], [400, ['access_token']]);
      assert.ok(!JSON.stringify(answer).includes(token));
      const read = await get(`/spaces/${spaceId}/environments/master/entries/third`, { authorization: `Bearer ${token}` });
      assert.equal(read.status, 404, 'nothing written');
      const twice = await get(`/spaces/${spaceId}/environments/master/entries?access_token=${deliveryKey}&access_token=${deliveryKey}`);
      assert.equal(twice.status, 400);
    });

    it('logs no token sent in the query, at any level', async () => {
      await new Promise((r) => setTimeout(r, 50)); // pino's buffered writes
      const text = out.lines.join('\n');
      assert.ok(out.lines.some((l) => l.includes('"msg":"request"')), 'request lines were written');
      for (const secret of [token, otherToken, deliveryKey]) assert.ok(!text.includes(secret), 'a token reached the log');
    });
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { changedMatches, diffChanges, MAX_CHANGE_VALUE_BYTES, MAX_CHANGE_VALUES, pathMatches, pathPatternProblem } from '../../src/events/changes.ts';
import { conditionProblems } from '../../src/webhooks/conditions.ts';
import { ADMIN_TOKEN, startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { startReceiver } from '../helpers/receiver.ts';

describe('changes between two versions (pure)', () => {
  test('lists exactly the changed field paths, groups key by key, with old and new values', () => {
    const before = { uid: 'e1', _version: 1, updated_at: 'a', title: 'Hello', body: 'same', seo: { description: 'old', keywords: 'k' }, tags: ['a'] };
    const after = { uid: 'e1', _version: 2, updated_at: 'b', title: 'Hello again', body: 'same', seo: { description: 'new', keywords: 'k' }, tags: ['a'] };
    const c = diffChanges('entry', before, after);
    assert.deepEqual(c.paths, ['seo.description', 'title']);
    assert.deepEqual(c.fields, [
      { path: 'seo.description', old: 'old', new: 'new' },
      { path: 'title', old: 'Hello', new: 'Hello again' },
    ]);
    assert.equal(c.truncated, false);
  });

  test('a field added or removed has null on its missing side; arrays compare as whole values', () => {
    const c = diffChanges('entry', { title: 't', gone: 1, list: [1, 2] }, { title: 't', added: { a: 1 }, list: [2, 1] });
    assert.deepEqual(c.fields, [
      { path: 'added.a', old: null, new: 1 },
      { path: 'gone', old: 1, new: null },
      { path: 'list', old: [1, 2], new: [2, 1] },
    ]);
  });

  test('key order inside a value is not a change, and system keys never are', () => {
    const c = diffChanges('asset', { title: 'x', meta: [{ a: 1, b: 2 }], updated_by: 'u1', url: '/a' }, { title: 'x', meta: [{ b: 2, a: 1 }], updated_by: 'u2', url: '/b' });
    assert.deepEqual(c, { paths: [], fields: [], truncated: false });
  });

  test('values over the size cap are left out, and the list of values is capped, marked truncated', () => {
    const big = 'x'.repeat(MAX_CHANGE_VALUE_BYTES + 1);
    const c = diffChanges('entry', { title: 'a', body: 'short' }, { title: 'b', body: big });
    assert.deepEqual(c.fields, [{ path: 'body', truncated: true }, { path: 'title', old: 'a', new: 'b' }]);
    assert.equal(c.truncated, true);
    const many: Record<string, number> = {};
    for (let i = 0; i < MAX_CHANGE_VALUES + 5; i++) many[`f${String(i).padStart(3, '0')}`] = i;
    const c2 = diffChanges('entry', {}, many);
    assert.equal(c2.paths.length, MAX_CHANGE_VALUES + 5);
    assert.equal(c2.fields.length, MAX_CHANGE_VALUES);
    assert.equal(c2.truncated, true);
  });

  test('a pattern matches the paths under it; * stands for one field uid', () => {
    assert.equal(pathMatches('title', 'title'), true);
    assert.equal(pathMatches('seo.*', 'seo.description'), true);
    assert.equal(pathMatches('seo', 'seo.description'), true);
    assert.equal(pathMatches('seo.*', 'seo'), false);
    assert.equal(pathMatches('title', 'titles'), false);
    assert.equal(pathMatches('*.url', 'hero.url'), true);
    assert.equal(changedMatches(['title'], { paths: ['body'], fields: [], truncated: false }), false);
    assert.equal(changedMatches(['title'], null), false);
  });

  test('changed conditions are validated naming the bad path', () => {
    assert.equal(pathPatternProblem('seo.*'), null);
    assert.match(pathPatternProblem('seo..x')!, /not a field path/);
    assert.deepEqual(conditionProblems([{ changed: ['title', 'seo.*'] }]), {});
    assert.deepEqual(Object.keys(conditionProblems([{ changed: [] }])), ['0.changed']);
    assert.deepEqual(Object.keys(conditionProblems([{ not: { changed: ['ok', 'bad path'] } }])), ['0.not.changed.1']);
  });
});

describe('change-aware payloads and conditions (a running Herald, real receivers)', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let bot: { uid: string; token: string };
  const rx = {} as Record<'all' | 'seo' | 'notBot' | 'contentful', Awaited<ReturnType<typeof startReceiver>>>;

  before(async () => {
    h = await startHerald();
    ({ api_key, token } = await h.newStack());
    const t = await h.request('POST', '/v3/stacks/management_tokens', { body: { token: { name: 'sync-bot' } }, headers: { authtoken: ADMIN_TOKEN, api_key } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    bot = { uid: t.body.token.uid, token: t.body.token.token };
    for (const k of ['all', 'seo', 'notBot', 'contentful'] as const) rx[k] = await startReceiver();
  });
  after(async () => {
    await h.close();
    for (const r of Object.values(rx)) await r.close();
  });

  const as = (tok: string) => ({ api_key, authorization: tok });
  const hook = async (name: string, url: string, extra: Record<string, unknown>) => {
    const r = await h.request('POST', '/v3/webhooks', { headers: as(token), body: { webhook: { name, destinations: [{ target_url: url }], ...extra } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };

  test('updates carry exactly the changed fields and the actor; changed and actor conditions pick the events', async () => {
    const ct = await h.request('POST', '/v3/content_types', {
      headers: as(token),
      body: {
        content_type: {
          title: 'Page',
          uid: 'page',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
            { uid: 'body', display_name: 'Body', data_type: 'text' },
            { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'description', display_name: 'Description', data_type: 'text' }] },
          ],
        },
      },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));
    await hook('all', rx.all.url, { channels: ['content_types.entries.create', 'content_types.entries.update'] });
    await hook('seo only', rx.seo.url, { channels: ['content_types.entries.update'], conditions: [{ changed: ['seo.*'] }] });
    await hook('not the bot', rx.notBot.url, { channels: ['content_types.entries.update'], conditions: [{ not: { equals: [{ doc: 'actor.uid' }, bot.uid] } }] });
    await hook('contentful', rx.contentful.url, { channels: ['Entry.save'], format: 'contentful' });

    const created = await h.request('POST', '/v3/content_types/page/entries', { headers: as(token), body: { entry: { title: 'Hello', body: 'b', seo: { description: 'old' } } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const uid = created.body.entry.uid;
    const update = async (tok: string, entry: Record<string, unknown>) => {
      const r = await h.request('PUT', `/v3/content_types/page/entries/${uid}`, { headers: as(tok), body: { entry } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    await update(token, { title: 'Hello again' }); // 1: title, by the user's token
    await update(bot.token, { seo: { description: 'new' } }); // 2: seo, by the bot
    await update(token, { seo: { description: 'newer' }, body: 'b2' }); // 3: seo and body, by the user's token

    await rx.all.waitFor(4);
    await rx.seo.waitFor(2);
    await rx.notBot.waitFor(2);
    await rx.contentful.waitFor(3);

    const all = rx.all.received.map((r) => r.json);
    assert.deepEqual(all.map((p) => p.event), ['create', 'update', 'update', 'update']);
    assert.equal(all[0].changes, undefined, 'a create carries no changes');
    assert.deepEqual(all[0].actor, { type: 'management_token', uid: all[0].data.entry.created_by, name: 'tests' });
    assert.deepEqual(all[1].changes, { paths: ['title'], fields: [{ path: 'title', old: 'Hello', new: 'Hello again' }], truncated: false });
    assert.deepEqual(all[2].changes, { paths: ['seo.description'], fields: [{ path: 'seo.description', old: 'old', new: 'new' }], truncated: false });
    assert.deepEqual(all[2].actor, { type: 'management_token', uid: bot.uid, name: 'sync-bot' });
    assert.deepEqual(all[3].changes.paths, ['body', 'seo.description']);

    // changed: ["seo.*"] fired for updates 2 and 3 only; the actor condition skipped the bot's update 2.
    assert.deepEqual(rx.seo.received.map((r) => r.json.seq), [all[2].seq, all[3].seq]);
    assert.deepEqual(rx.notBot.received.map((r) => r.json.seq), [all[1].seq, all[3].seq]);

    // The Contentful format carries the same, beside the entity's sys and fields.
    const cf = rx.contentful.received.map((r) => r.json);
    assert.equal(cf[1].sys.type, 'Entry');
    assert.deepEqual(cf[1].changes, all[2].changes);
    assert.deepEqual(cf[1].actor, all[2].actor);
    assert.deepEqual(cf[0].fields.title, { 'en-US': 'Hello again' });

    // The event feed keeps them too: computed once, when the change was recorded.
    const feed = await h.request('GET', '/v3/events?after=0', { headers: as(token) });
    const updates = feed.body.events.filter((e: any) => e.action === 'update' && e.module === 'entry');
    assert.deepEqual(updates.map((e: any) => e.changes.paths), [['title'], ['seo.description'], ['body', 'seo.description']]);
    assert.deepEqual(updates.map((e: any) => e.actor_name), ['tests', 'sync-bot', 'tests']);

    // Every payload sent validates against its schema in the event catalog.
    for (const r of Object.values(rx)) assert.equal(await assertPayloadsMatchSchemas(h, as(token), r.received), r.received.length);
  });

  test('content type updates carry their changes too', async () => {
    const r = await h.request('PUT', '/v3/content_types/page', { headers: as(token), body: { content_type: { title: 'Pages' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const feed = await h.request('GET', '/v3/events?after=0', { headers: as(token) });
    const last = feed.body.events.at(-1);
    assert.equal(last.module, 'content_type');
    assert.deepEqual(last.changes, { paths: ['title'], fields: [{ path: 'title', old: 'Page', new: 'Pages' }], truncated: false });
  });
});

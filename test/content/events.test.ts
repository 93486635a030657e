import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { updateAsset } from '../../src/content/assets.ts';
import { getContentType } from '../../src/content/content-types.ts';
import { createEntry, publishEntry, updateEntry } from '../../src/content/entries.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { clientError, clientStack, eventsAfter, label, lastSeq, stackOf, type TestStack } from './helpers/content.ts';

/**
 * Every content change records exactly one event per change (one per environment and locale for
 * publishing), in order, in the same transaction, with the entity's snapshot; a rejected request
 * records none. Read back through GET /v3/events.
 */
describe('content events', () => {
  let h: TestHerald;
  let s: TestStack;

  before(async () => {
    h = await startHerald();
    s = await clientStack(h);
    await s.stack.environment().create({ environment: { name: 'development' } });
    await s.stack.environment().create({ environment: { name: 'production' } });
    await s.stack.locale().create({ locale: { code: 'fr-fr', name: 'French' } });
    await s.stack.contentType().create({ content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }] } });
  });
  after(() => h.close());

  it('records each change of an entry once, in order, with the entry and content type after it', async () => {
    const from = await lastSeq(h, s);
    const ct = await s.stack.contentType().create({
      content_type: { title: 'Story', uid: 'story', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] },
    });
    const story = s.stack.contentType('story');
    const e = await story.entry().create({ entry: { title: 'Once', body: 'v1' } });
    const fetched = await story.entry(e.uid).fetch();
    fetched.body = 'v2';
    await fetched.update();
    const auto1 = await h.request('PUT', `/v3/content_types/story/entries/${e.uid}?auto_save=true`, { headers: s.headers, body: { entry: { body: 'typing' } } });
    assert.equal(auto1.status, 200);
    const auto2 = await h.request('PUT', `/v3/content_types/story/entries/${e.uid}`, { headers: { ...s.headers, 'x-herald-auto-save': 'true' }, body: { entry: { body: 'typing more' } } });
    assert.equal(auto2.status, 200);
    const fr = await story.entry(e.uid).fetch({ locale: 'fr-fr' });
    fr.title = 'Une fois';
    await fr.update({ locale: 'fr-fr' });
    await fetched.publish({ publishDetails: { environments: ['development', 'production'], locales: ['en-us', 'fr-fr'] } });
    await fetched.unpublish({ publishDetails: { environments: ['development', 'production'], locales: ['en-us', 'fr-fr'] } });
    assert.equal((await h.request('POST', `/v3/content_types/story/entries/${e.uid}/archive`, { headers: s.headers })).status, 200);
    assert.equal((await h.request('POST', `/v3/content_types/story/entries/${e.uid}/unarchive`, { headers: s.headers })).status, 200);
    await story.entry(e.uid).delete();
    ct.title = 'Story 2';
    await ct.update();
    await s.stack.contentType('story').delete();

    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), [
      'content_type.create',
      'entry.create',
      'entry.update',
      'entry.auto_save',
      'entry.auto_save',
      'entry.update',
      'entry.publish@development/en-us',
      'entry.publish@production/en-us',
      'entry.publish@development/fr-fr',
      'entry.publish@production/fr-fr',
      'entry.unpublish@development/en-us',
      'entry.unpublish@production/en-us',
      'entry.unpublish@development/fr-fr',
      'entry.unpublish@production/fr-fr',
      'entry.archive',
      'entry.unarchive',
      'entry.delete',
      'content_type.update',
      'content_type.delete',
    ]);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].seq > events[i - 1].seq, 'seq increases');

    const [ctCreate, create, update, auto, , localize, publish] = events;
    assert.equal(ctCreate.data.content_type.uid, 'story');
    assert.equal(ctCreate.data.content_type.schema.length, 2);
    assert.equal(create.uid, e.uid);
    assert.equal(create.content_type_uid, 'story');
    assert.equal(create.branch, 'main');
    assert.equal(create.locale, 'en-us');
    assert.equal(create.data.entry.title, 'Once');
    assert.equal(create.data.entry._version, 1);
    assert.equal(create.data.content_type.uid, 'story');
    assert.equal(update.data.entry.body, 'v2');
    assert.equal(update.data.entry._version, 2);
    assert.equal(auto.data.entry.body, 'typing');
    assert.equal(auto.data.entry._version, 3);
    assert.equal(localize.locale, 'fr-fr');
    assert.equal(localize.data.entry.title, 'Une fois');
    assert.equal(publish.data.environment.name, 'development');
    assert.match(publish.data.environment.uid, /^blt/);
    assert.equal(publish.data.locale, 'en-us');
    assert.equal(publish.data.entry.publish_details.length, 1, 'the snapshot is after the change');
    assert.equal(publish.data.entry.body, 'typing more');

    // Who did it: the management token, as on the entity itself.
    assert.match(create.actor, /^blt/);
    assert.equal(create.data.entry.created_by, create.actor);
    assert.ok(events.every((ev) => ev.actor === create.actor));

    const archived = events.find((ev) => ev.action === 'archive')!;
    assert.equal(archived.data.entry._archived, true);
    const deleted = events.find((ev) => ev.action === 'delete' && ev.module === 'entry')!;
    assert.equal(deleted.data.entry.title, 'Once', 'delete carries the entry before it');
    assert.equal(deleted.data.entry._version, 4);
    assert.deepEqual([...deleted.data.deleted_locales].sort(), ['en-us', 'fr-fr'], 'a whole-entry delete names every line it removed');
    const ctDeleted = events[events.length - 1];
    assert.equal(ctDeleted.data.content_type.title, 'Story 2');
  });

  it('deletes the master and every localized version with delete_all_localized=true, as one delete event', async () => {
    await s.stack.contentType().create({ content_type: { title: 'Leaflet', uid: 'leaflet', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
    const memo = s.stack.contentType('leaflet');
    const make = async (title: string) => {
      const e = await memo.entry().create({ entry: { title } });
      const fr = await memo.entry(e.uid).fetch({ locale: 'fr-fr' });
      fr.title = `${title} (fr)`;
      await fr.update({ locale: 'fr-fr' });
      await memo.entry(e.uid).publish({ publishDetails: { environments: ['development'], locales: ['en-us', 'fr-fr'] } });
      return e.uid as string;
    };
    const a = await make('A');
    const b = await make('B');
    const from = await lastSeq(h, s);
    // Without the flag, ?locale=fr-fr deletes the French version only; with it, the master and all.
    await memo.entry(a).delete({ locale: 'fr-fr' });
    await memo.entry(b).delete({ locale: 'fr-fr', delete_all_localized: true });
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map((ev) => `${label(ev)} ${ev.uid} ${[...ev.data.deleted_locales].sort()}`), [`entry.delete ${a} fr-fr`, `entry.delete ${b} en-us,fr-fr`]);
    assert.equal((await memo.entry(a).fetch()).title, 'A', 'the master of A is left');
    for (const locale of ['en-us', 'fr-fr']) await assert.rejects(memo.entry(b).fetch({ locale }), clientError(404), `B in ${locale}`);
    // false is the default; any other value is refused by name, and nothing is deleted.
    await assert.rejects(memo.entry(a).delete({ delete_all_localized: 'yes' }), clientError(422, 'delete_all_localized'));
    assert.equal((await memo.entry(a).fetch()).title, 'A', 'not deleted');
    await memo.entry(a).delete({ delete_all_localized: false });
    await assert.rejects(memo.entry(a).fetch(), clientError(404));
  });

  it('records each change of an asset once, in order, with the asset after it', async () => {
    const from = await lastSeq(h, s);
    const asset = await s.stack.asset().create({ upload: Buffer.from('abc'), filename: 'a.txt', content_type: 'text/plain', title: 'A' });
    asset.title = 'B';
    const updated = await asset.update();
    await updated.publish({ publishDetails: { environments: ['development'], locales: ['en-us', 'fr-fr'] } });
    await updated.unpublish({ publishDetails: { environments: ['development'], locales: ['en-us', 'fr-fr'] } });
    assert.equal((await h.request('POST', `/v3/assets/${asset.uid}/archive`, { headers: s.headers })).status, 200);
    assert.equal((await h.request('POST', `/v3/assets/${asset.uid}/unarchive`, { headers: s.headers })).status, 200);
    await s.stack.asset(asset.uid).delete();

    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), [
      'asset.create',
      'asset.update',
      'asset.publish@development/en-us',
      'asset.publish@development/fr-fr',
      'asset.unpublish@development/en-us',
      'asset.unpublish@development/fr-fr',
      'asset.archive',
      'asset.unarchive',
      'asset.delete',
    ]);
    assert.ok(events.every((ev) => ev.uid === asset.uid));
    assert.equal(events[0].data.asset.title, 'A');
    assert.equal(events[0].data.asset.filename, 'a.txt');
    assert.equal(events[1].data.asset.title, 'B');
    assert.equal(events[1].data.asset._version, 2);
    assert.deepEqual(events[2].data.environment.name, 'development');
    assert.equal(events[2].data.locale, 'en-us');
    assert.equal(events[8].data.asset.title, 'B', 'delete carries the asset before it');
  });

  it('records publish.fail with its reason when the entry no longer passes its content type', async () => {
    const ct = await s.stack.contentType().create({
      content_type: { title: 'Doc', uid: 'doc', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text' }, { uid: 'summary', display_name: 'Summary', data_type: 'text' }] },
    });
    const e = await s.stack.contentType('doc').entry().create({ entry: { title: 'No summary' } });
    ct.schema[1].mandatory = true;
    await ct.update();
    const from = await lastSeq(h, s);

    await assert.rejects(e.publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } }), (err: any) => {
      assert.equal(err.status, 422);
      assert.match(err.errorMessage, /entry\.summary is required/);
      assert.ok(err.errors['development/en-us']);
      return true;
    });
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), ['entry.publish.fail@development/en-us']);
    assert.match(events[0].data.reason, /does not pass validation of content type 'doc': entry\.summary is required/);
    assert.equal(events[0].data.environment.name, 'development');
    assert.equal(events[0].data.entry.uid, e.uid);
    assert.equal((await s.stack.contentType('doc').entry(e.uid).fetch()).publish_details.length, 0, 'nothing was published');
  });

  it('publishes although a referenced entry is not published, and records publish.fail naming a reference to an entry that does not exist', async () => {
    const author = await s.stack.contentType('author').entry().create({ entry: { title: 'Grace' } });
    await s.stack.contentType().create({
      content_type: { title: 'Article', uid: 'article', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }, { uid: 'by', display_name: 'By', data_type: 'reference', reference_to: ['author'] }] },
    });
    const article = await s.stack.contentType('article').entry().create({ entry: { title: 'A', by: [{ uid: author.uid, _content_type_uid: 'author' }] } });
    const dangling = await s.stack.contentType('article').entry().create({ entry: { title: 'B', by: [{ uid: 'blt00000000000000aa', _content_type_uid: 'author' }] } });
    const from = await lastSeq(h, s);

    await article.publish({ publishDetails: { environments: ['development', 'production'], locales: ['en-us'] } });
    await assert.rejects(dangling.publish({ publishDetails: { environments: ['production'], locales: ['en-us'] } }), clientError(422, 'production/en-us'));
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), ['entry.publish@development/en-us', 'entry.publish@production/en-us', 'entry.publish.fail@production/en-us']);
    assert.equal(events[2].data.reason, 'entry.by[0] references entry blt00000000000000aa (author), which does not exist');
    const fetched = await s.stack.contentType('article').entry(article.uid).fetch();
    assert.equal(fetched.publish_details.length, 2);
  });

  it('records unpublish.fail where the entry was not published', async () => {
    await s.stack.contentType().create({ content_type: { title: 'Memo', uid: 'memo', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
    const e = await s.stack.contentType('memo').entry().create({ entry: { title: 'm' } });
    const from = await lastSeq(h, s);
    await assert.rejects(e.unpublish({ publishDetails: { environments: ['production'], locales: ['en-us'] } }), clientError(422, 'production/en-us'));
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), ['entry.unpublish.fail@production/en-us']);
    assert.equal(events[0].data.reason, 'the entry is not published to production in en-us');
  });

  it('records no event for a rejected request', async () => {
    await s.stack.contentType().create({ content_type: { title: 'Plain', uid: 'plain', schema: [{ uid: 'title', display_name: 'T', data_type: 'text', mandatory: true }] } });
    const e = await s.stack.contentType('plain').entry().create({ entry: { title: 'p' } });
    const asset = await s.stack.asset().create({ upload: Buffer.from('x'), filename: 'x.txt' });
    const from = await lastSeq(h, s);

    const rejected: Array<{ status: number }> = [
      await h.request('POST', '/v3/content_types/plain/entries', { headers: s.headers, body: { entry: {} } }),
      await h.request('POST', '/v3/content_types/plain/entries', { headers: s.headers, body: '{"entry": ' }),
      await h.request('POST', '/v3/content_types/ghost/entries', { headers: s.headers, body: { entry: { title: 'x' } } }),
      await h.request('PUT', `/v3/content_types/plain/entries/${e.uid}`, { headers: s.headers, body: { entry: { title: 42 } } }),
      await h.request('PUT', '/v3/content_types/plain/entries/blt0000000000000000', { headers: s.headers, body: { entry: { title: 'x' } } }),
      await h.request('POST', `/v3/content_types/plain/entries/${e.uid}/publish`, { headers: s.headers, body: { entry: { environments: ['nowhere'], locales: ['en-us'] } } }),
      await h.request('POST', `/v3/content_types/plain/entries/${e.uid}/publish`, { headers: s.headers, body: { entry: { environments: ['development'], locales: ['xx-xx'] } } }),
      await h.request('POST', '/v3/content_types', { headers: s.headers, body: { content_type: { title: 'Bad', schema: [{ uid: 'x', data_type: 'nope' }] } } }),
      await h.request('PUT', '/v3/content_types/plain', { headers: s.headers, body: { content_type: { schema: 'not a list' } } }),
      await h.request('PUT', `/v3/assets/${asset.uid}`, { headers: s.headers, body: { asset: { tags: 5 } } }),
      await h.request('POST', `/v3/assets/${asset.uid}/unarchive`, { headers: s.headers }),
    ];
    // An archived entry cannot be published until unarchived.
    await h.request('POST', `/v3/content_types/plain/entries/${e.uid}/archive`, { headers: s.headers });
    const afterArchive = await lastSeq(h, s);
    const archivedPublish = await h.request('POST', `/v3/content_types/plain/entries/${e.uid}/publish`, { headers: s.headers, body: { entry: { environments: ['development'], locales: ['en-us'] } } });
    assert.equal(archivedPublish.status, 422);
    assert.match(archivedPublish.body.error_message, /archived/);
    const archivedUpdate = await h.request('PUT', `/v3/content_types/plain/entries/${e.uid}`, { headers: s.headers, body: { entry: { title: 'edit' } } });
    assert.equal(archivedUpdate.status, 422);

    for (const r of rejected) assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), ['entry.archive']);
    assert.equal(await lastSeq(h, s), afterArchive);
  });

  it('answers creates sent together each with its own outcome, and records an event for each created entry only', async () => {
    // Sent at once, they share one commit on SQLite (store/sqlite.ts, gathered transactions).
    await s.stack.contentType().create({
      content_type: { title: 'Note', uid: 'note', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true }] },
    });
    const create = (entry: object) => h.request('POST', '/v3/content_types/note/entries', { headers: s.headers, body: { entry } });
    // A first round opens the connections, so the next one's requests arrive together.
    await Promise.all(['taken', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'].map((title) => create({ title })));
    const from = await lastSeq(h, s);
    const answers = await Promise.all([{ title: 'n1' }, {}, { title: 'n3' }, { title: 'taken' }, { title: 'n5' }, { title: 42 }, { title: 'n7' }].map(create));
    assert.deepEqual(
      answers.map((a) => a.status),
      [201, 422, 201, 422, 201, 422, 201],
    );
    assert.match(answers[3].body.error_message, /unique/);
    const created = answers.filter((a) => a.status === 201).map((a) => a.body.entry);
    assert.deepEqual(created.map((e) => e.title), ['n1', 'n3', 'n5', 'n7']);
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map(label), ['entry.create', 'entry.create', 'entry.create', 'entry.create']);
    assert.deepEqual(new Set(events.map((e) => `${e.uid}:${e.data.entry.title}`)), new Set(created.map((e) => `${e.uid}:${e.title}`)));
    for (const e of created) assert.equal((await h.request('GET', `/v3/content_types/note/entries/${e.uid}`, { headers: s.headers })).body.entry.title, e.title);
  });

  it('answers entry and asset writes sent together each with its own outcome, and records events for the ones done only', async () => {
    // Sent at once, they share one commit on SQLite (content/entries.ts and assets.ts, GATHER).
    await s.stack.contentType().create({
      content_type: { title: 'Card', uid: 'card', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] },
    });
    const card = s.stack.contentType('card');
    const e: Record<string, string> = {};
    for (const t of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']) e[t] = (await card.entry().create({ entry: { title: t } })).uid;
    await (await card.entry(e.m6).fetch()).publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } });
    const a1 = (await s.stack.asset().create({ upload: Buffer.from('1'), filename: 'a1.txt', title: 'a1' })).uid;
    const a2 = (await s.stack.asset().create({ upload: Buffer.from('2'), filename: 'a2.txt', title: 'a2' })).uid;
    const at = (uid: string) => `/v3/content_types/card/entries/${uid}`;
    const put = (uid: string, entry: object, headers: Record<string, string> = {}) => h.request('PUT', at(uid), { headers: { ...s.headers, ...headers }, body: { entry } });
    const publish = (uid: string, environments: string[], action = 'publish') =>
      h.request('POST', `${at(uid)}/${action}`, { headers: s.headers, body: { entry: { environments, locales: ['en-us'] } } });
    // A first round opens the connections, so the next one's requests arrive together.
    await Promise.all(Array.from({ length: 13 }, () => h.request('GET', at(e.m1), { headers: s.headers })));
    const from = await lastSeq(h, s);
    const answers = await Promise.all([
      put(e.m1, { title: 'm1 after' }), // 0 update
      put(e.m2, { title: 'm3' }), // 1 taken by m3: 422, nothing recorded
      put(e.m3, { body: 'typing' }, { 'x-herald-auto-save': 'true' }), // 2 auto_save
      publish(e.m4, ['development']), // 3 publish
      publish(e.m5, ['nowhere']), // 4 unknown environment: 422, no event
      publish(e.m6, ['development'], 'unpublish'), // 5 unpublish
      h.request('DELETE', at(e.m7), { headers: s.headers }), // 6 delete
      h.request('DELETE', at('blt0000000000000000'), { headers: s.headers }), // 7 no such entry: 404
      h.request('POST', `${at(e.m8)}/archive`, { headers: s.headers }), // 8 archive
      put('blt0000000000000000', { title: 'ghost' }), // 9 no such entry: 404
      h.request('PUT', `/v3/assets/${a1}`, { headers: s.headers, body: { asset: { title: 'a1 after' } } }), // 10 asset update
      h.request('POST', `/v3/assets/${a2}/publish`, { headers: s.headers, body: { asset: { environments: ['production'], locales: ['en-us'] } } }), // 11 asset publish
      h.request('DELETE', '/v3/assets/blt0000000000000000', { headers: s.headers }), // 12 no such asset: 404
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 422, 200, 200, 422, 200, 200, 404, 200, 404, 200, 200, 404],
    );
    assert.match(answers[1].body.error_message, /unique/);
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(new Set(events.map((ev) => `${label(ev)}:${ev.uid}`)), new Set([
      `entry.update:${e.m1}`,
      `entry.auto_save:${e.m3}`,
      `entry.publish@development/en-us:${e.m4}`,
      `entry.unpublish@development/en-us:${e.m6}`,
      `entry.delete:${e.m7}`,
      `entry.archive:${e.m8}`,
      `asset.update:${a1}`,
      `asset.publish@production/en-us:${a2}`,
    ]));
    assert.equal(events.length, 8);
    assert.equal((await card.entry(e.m1).fetch()).title, 'm1 after');
    assert.equal((await card.entry(e.m2).fetch()).title, 'm2');
    assert.equal((await card.entry(e.m3).fetch()).body, 'typing');
    assert.equal((await h.request('GET', at(e.m7), { headers: s.headers })).status, 404);
  });

  it('commits entry and asset writes asked for in one turn together (SQLite)', async (t) => {
    if (h.herald.db.dialect !== 'sqlite') return t.skip('PostgreSQL runs transactions side by side');
    const scope = { api_key: s.api_key, branch: 'main', caller: { kind: 'admin', actor: 'admin' } as const };
    const one = await createEntry(h.herald, scope, 'author', { title: 'one' });
    const two = await createEntry(h.herald, scope, 'author', { title: 'two' });
    const asset = (await s.stack.asset().create({ upload: Buffer.from('t'), filename: 't.txt', title: 't' })).uid;
    // Read through the reader connection, which sees committed writes only.
    const committed = async () => ({
      two: JSON.parse((await h.herald.db.get<{ doc: string }>('SELECT doc FROM entries WHERE api_key = ? AND uid = ?', [s.api_key, two.uid]))!.doc).title,
      asset: JSON.parse((await h.herald.db.get<{ doc: string }>('SELECT doc FROM assets WHERE api_key = ? AND uid = ?', [s.api_key, asset]))!.doc).title,
    });
    let seen: unknown;
    await Promise.all([
      updateEntry(h.herald, scope, 'author', one.uid as string, { title: 'one after' }).then(async () => (seen = await committed())),
      updateEntry(h.herald, scope, 'author', two.uid as string, { title: 'two after' }),
      updateAsset(h.herald, scope, asset, { title: 't after' }, undefined, h.url),
    ]);
    // When the first answers, the others asked for with it have committed too: one COMMIT.
    assert.deepEqual(seen, { two: 'two after', asset: 't after' });
  });

  it("stores a save's event data as the bytes JSON.stringify gives the entry returned and its content type", async () => {
    // A save builds its event's data text from the entry row's text (entries.ts renderedText) and the
    // content type row's, rather than stringifying them again: what it stores must be exactly what
    // stringifying would give.
    await s.stack.contentType().create({
      content_type: { title: 'Jotting', uid: 'jotting', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'tags_list', display_name: 'Words', data_type: 'text', multiple: true }] },
    });
    const scope = { api_key: s.api_key, branch: 'main', caller: { kind: 'admin', actor: 'admin' } as const };
    const ct = await getContentType(h.herald.db, scope, 'jotting');
    const stored = async (uid: string, action: string, locale: string) =>
      (await h.herald.db.get<{ data: string }>('SELECT data FROM events WHERE api_key = ? AND uid = ? AND action = ? AND locale = ? ORDER BY seq DESC LIMIT 1', [s.api_key, uid, action, locale]))!.data;
    // Text that JSON escapes: a quote, a backslash, a control character, U+2028, and non-ASCII.
    const created = await createEntry(h.herald, scope, 'jotting', { title: 'say "hi" \\ \t \u2028 é', tags_list: ['a', 'b'], tags: ['x'] });
    const uid = created.uid as string;
    assert.equal(await stored(uid, 'create', 'en-us'), JSON.stringify({ entry: created, content_type: ct }));
    // Published, then saved: the entry's publish_details are not empty.
    await publishEntry(h.herald, scope, 'jotting', uid, { entry: { environments: ['development'], locales: ['en-us'] } });
    const updated = await updateEntry(h.herald, scope, 'jotting', uid, { title: 'after' });
    assert.equal((updated.publish_details as unknown[]).length, 1);
    assert.equal(await stored(uid, 'update', 'en-us'), JSON.stringify({ entry: updated, content_type: ct }));
    const saved = await updateEntry(h.herald, scope, 'jotting', uid, { tags_list: [] }, { autoSave: true });
    assert.equal(await stored(uid, 'auto_save', 'en-us'), JSON.stringify({ entry: saved, content_type: ct }));
    // A new locale's line.
    const localized = await updateEntry(h.herald, scope, 'jotting', uid, { title: 'après' }, { locale: 'fr-fr' });
    assert.equal(await stored(uid, 'update', 'fr-fr'), JSON.stringify({ entry: localized, content_type: ct }));

    // A content type embedding a global field: its data carries the global field's schema, which
    // the content type's row does not hold.
    const gf = await h.request('POST', '/v3/global_fields', { headers: s.headers, body: { global_field: { title: 'Signature', uid: 'signature', schema: [{ uid: 'name', display_name: 'Name', data_type: 'text' }] } } });
    assert.equal(gf.status, 201);
    await s.stack.contentType().create({
      content_type: { title: 'Signed', uid: 'signed', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'by', display_name: 'By', data_type: 'global_field', reference_to: 'signature' }] },
    });
    const signedCt = await getContentType(h.herald.db, scope, 'signed');
    assert.equal((signedCt!.schema[1] as { schema: unknown[] }).schema.length, 1);
    const signed = await createEntry(h.herald, scope, 'signed', { title: 'Signed', by: { name: 'Ann' } });
    assert.equal(await stored(signed.uid as string, 'create', 'en-us'), JSON.stringify({ entry: signed, content_type: signedCt }));
    const resigned = await updateEntry(h.herald, scope, 'signed', signed.uid as string, { by: { name: 'Bo' } });
    assert.equal(await stored(signed.uid as string, 'update', 'en-us'), JSON.stringify({ entry: resigned, content_type: signedCt }));
  });

  it("answers a create and an update with the bytes JSON.stringify gives the entry a read then returns", async () => {
    // The API answers a save from the entry's text the save made (entries.ts SavedEntry), not by
    // stringifying the entry again: the answer must be what stringifying would give, header included.
    await s.stack.contentType().create({ content_type: { title: 'Answered', uid: 'answered', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'lines', display_name: 'Lines', data_type: 'text', multiple: true }] } });
    const base = `${h.url}/v3/content_types/answered/entries`;
    const send = async (method: string, path: string, body: unknown) => {
      const res = await fetch(base + path, { method, headers: { ...s.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };
    const read = async (uid: string, locale: string) => (await h.request('GET', `/v3/content_types/answered/entries/${uid}?locale=${locale}`, { headers: s.headers })).body.entry;
    const answer = (notice: string, entry: unknown) => JSON.stringify({ notice, entry });
    // Text that JSON escapes: a quote, a backslash, a control character, U+2028, and non-ASCII.
    const created = await send('POST', '', { entry: { title: 'say "hi" \\ \t \u2028 é', lines: ['a'], tags: ['x'] } });
    assert.equal(created.status, 201);
    assert.equal(created.type, 'application/json; charset=utf-8');
    const uid = JSON.parse(created.text).entry.uid as string;
    assert.equal(created.text, answer('Entry created successfully.', await read(uid, 'en-us')));
    // Published, then saved: the entry's publish_details are not empty.
    const published = await h.request('POST', `/v3/content_types/answered/entries/${uid}/publish`, { headers: s.headers, body: { entry: { environments: ['development'], locales: ['en-us'] } } });
    assert.equal(published.status, 200);
    const updated = await send('PUT', `/${uid}`, { entry: { title: 'after' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.type, 'application/json; charset=utf-8');
    assert.equal(JSON.parse(updated.text).entry.publish_details.length, 1);
    assert.equal(updated.text, answer('Entry updated successfully.', await read(uid, 'en-us')));
    const autoSaved = await send('PUT', `/${uid}?auto_save=true`, { entry: { lines: [] } });
    assert.equal(autoSaved.text, answer('Entry updated successfully.', await read(uid, 'en-us')));
    // A new locale's line.
    const localized = await send('PUT', `/${uid}?locale=fr-fr`, { entry: { title: 'après' } });
    assert.equal(localized.text, answer('Entry updated successfully.', await read(uid, 'fr-fr')));
    // include_branch=true: the entry carries `_branch` last.
    const branched = await send('PUT', `/${uid}?include_branch=true`, { entry: { title: 'branched' } });
    assert.equal(branched.text, answer('Entry updated successfully.', { ...(await read(uid, 'en-us')), _branch: 'main' }));
  });

  it("checks an entry's save against its content type's row as it is now, also after another process rewrote it", async () => {
    // Saves reuse the content type parsed from the same row text before (schema-docs.ts ParsedTexts):
    // a row another Herald process on the same store rewrote must be read anew, not served from memory.
    await s.stack.contentType().create({ content_type: { title: 'Rewritten', uid: 'rewritten', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] } });
    const create = (entry: object) => h.request('POST', '/v3/content_types/rewritten/entries', { headers: s.headers, body: { entry } });
    assert.equal((await create({ title: 'before' })).status, 201);
    assert.equal((await create({ title: 'again' })).status, 201);
    // As another process's update would leave it: body mandatory, the next version.
    const row = (await h.herald.db.get<{ doc: string }>('SELECT doc FROM content_types WHERE api_key = ? AND uid = ?', [s.api_key, 'rewritten']))!;
    const doc = JSON.parse(row.doc);
    doc.schema[1].mandatory = true;
    doc._version += 1;
    await h.herald.db.tx((tx) => tx.run('UPDATE content_types SET doc = ?, version = ? WHERE api_key = ? AND uid = ?', [JSON.stringify(doc), doc._version, s.api_key, 'rewritten']));
    const refused = await create({ title: 'no body' });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.deepEqual(Object.keys(refused.body.errors), ['entry.body']);
    const made = await create({ title: 'with body', body: 'b' });
    assert.equal(made.status, 201);
    const event = (await h.herald.db.get<{ data: string }>('SELECT data FROM events WHERE api_key = ? AND uid = ? AND action = ?', [s.api_key, made.body.entry.uid, 'create']))!;
    assert.equal(JSON.parse(event.data).content_type._version, doc._version);
  });

  it("stores a publish's, unpublish's, archive's and delete's event data as the bytes JSON.stringify gives the entry a read shows and its content type", async () => {
    // These events' data text is made from the entry row's text and the content type row's, with
    // their extra keys (environment, locale, reason, deleted_locales) stringified after them.
    await s.stack.contentType().create({ content_type: { title: 'Flyer', uid: 'flyer', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'see', display_name: 'See', data_type: 'reference', reference_to: ['flyer'] }] } });
    const scope = { api_key: s.api_key, branch: 'main', caller: { kind: 'admin', actor: 'admin' } as const };
    const ct = await getContentType(h.herald.db, scope, 'flyer');
    const path = '/v3/content_types/flyer/entries';
    const stored = async (uid: string, action: string, locale: string) =>
      (await h.herald.db.get<{ data: string }>('SELECT data FROM events WHERE api_key = ? AND uid = ? AND action = ? AND locale = ? ORDER BY seq DESC LIMIT 1', [s.api_key, uid, action, locale]))!.data;
    const read = async (uid: string, locale: string) => (await h.request('GET', `${path}/${uid}?locale=${locale}`, { headers: s.headers })).body.entry;
    const post = async (p: string, body?: unknown) => {
      const r = await h.request('POST', p, { headers: s.headers, ...(body === undefined ? {} : { body }) });
      assert.ok(r.status < 300 || r.status === 422, JSON.stringify(r.body));
      return r;
    };
    const created = (await post(path, { entry: { title: 'say "hi" \\ \t \u2028 é' } })).body.entry;
    const uid = created.uid as string;
    await h.request('PUT', `${path}/${uid}`, { headers: s.headers, body: { entry: { title: 'second' } } });
    const development = await h.request('GET', '/v3/environments/development', { headers: s.headers });
    const env = { name: 'development', uid: development.body.environment.uid };
    // Publish version 1 (an older version: its text is entry_versions'), then the latest.
    await post(`${path}/${uid}/publish`, { entry: { environments: ['development'], locales: ['en-us'] }, version: 1 });
    const v1 = (await h.herald.db.get<{ doc: string }>('SELECT doc FROM publications WHERE api_key = ? AND uid = ?', [s.api_key, uid]))!.doc;
    assert.equal(JSON.parse(v1)._version, 1);
    assert.equal(JSON.parse(await stored(uid, 'publish', 'en-us')).entry.title, 'say "hi" \\ \t \u2028 é');
    await post(`${path}/${uid}/publish`, { entry: { environments: ['development'], locales: ['en-us'] } });
    const row = (await h.herald.db.get<{ doc: string }>('SELECT doc FROM entries WHERE api_key = ? AND uid = ?', [s.api_key, uid]))!.doc;
    assert.equal((await h.herald.db.get<{ doc: string }>('SELECT doc FROM publications WHERE api_key = ? AND uid = ?', [s.api_key, uid]))!.doc, row);
    assert.equal(await stored(uid, 'publish', 'en-us'), JSON.stringify({ entry: await read(uid, 'en-us'), content_type: ct, environment: env, locale: 'en-us' }));
    // A failed publish (a dangling reference) carries its reason.
    const other = (await post(path, { entry: { title: 'dangles', see: [{ uid: 'blt_nowhere', _content_type_uid: 'flyer' }] } })).body.entry;
    const failed = await post(`${path}/${other.uid}/publish`, { entry: { environments: ['development'], locales: ['en-us'] } });
    assert.equal(failed.status, 422);
    const failText = await stored(other.uid, 'publish.fail', 'en-us');
    assert.equal(failText, JSON.stringify({ entry: await read(other.uid, 'en-us'), content_type: ct, environment: env, locale: 'en-us', reason: JSON.parse(failText).reason }));
    // Unpublish, then an unpublish that fails (not published), archive, unarchive.
    await post(`${path}/${uid}/unpublish`, { entry: { environments: ['development'], locales: ['en-us'] } });
    assert.equal(await stored(uid, 'unpublish', 'en-us'), JSON.stringify({ entry: await read(uid, 'en-us'), content_type: ct, environment: env, locale: 'en-us' }));
    await post(`${path}/${uid}/unpublish`, { entry: { environments: ['development'], locales: ['en-us'] } });
    const unfailText = await stored(uid, 'unpublish.fail', 'en-us');
    assert.equal(unfailText, JSON.stringify({ entry: await read(uid, 'en-us'), content_type: ct, environment: env, locale: 'en-us', reason: 'the entry is not published to development in en-us' }));
    await post(`${path}/${uid}/archive`);
    assert.equal(await stored(uid, 'archive', 'en-us'), JSON.stringify({ entry: await read(uid, 'en-us'), content_type: ct }));
    await post(`${path}/${uid}/unarchive`);
    assert.equal(await stored(uid, 'unarchive', 'en-us'), JSON.stringify({ entry: await read(uid, 'en-us'), content_type: ct }));
    // Delete: the entry as it was, and the locales that went.
    await h.request('PUT', `${path}/${uid}?locale=fr-fr`, { headers: s.headers, body: { entry: { title: 'localisé' } } });
    const before = await read(uid, 'fr-fr');
    assert.equal((await h.request('DELETE', `${path}/${uid}?locale=fr-fr`, { headers: s.headers })).status, 200);
    assert.equal(await stored(uid, 'delete', 'fr-fr'), JSON.stringify({ entry: before, content_type: ct, deleted_locales: ['fr-fr'] }));
  });

  it('records the branch an event happened on', async () => {
    await s.stack.branch().create({ branch: { uid: 'feature', source: 'main' } });
    const from = await lastSeq(h, s);
    const dev = stackOf(h.url, s.api_key, s.token, 'feature');
    await dev.contentType('author').entry().create({ entry: { title: 'On a branch' } });
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.map((e) => `${label(e)}:${e.branch}`), ['entry.create:feature']);
  });

  it("deletes a content type with its entries, as Contentstack's DELETE does: each entry's delete event, then the type's, or nothing while it is referenced", async () => {
    const rx = await startReceiver();
    try {
      const channels = ['content_types.entries.delete', 'content_types.entries.unpublish', 'content_types.brochure.delete'];
      const hook = await h.request('POST', '/v3/webhooks', { headers: s.headers, body: { webhook: { name: 'type deletes', destinations: [{ target_url: rx.url }], channels } } });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      await s.stack.environment().create({ environment: { name: 'brochures' } });
      const title = [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }];
      await s.stack.contentType().create({ content_type: { title: 'Brochure', uid: 'brochure', schema: title } });
      const shelfSchema = [...title, { uid: 'items', display_name: 'Items', data_type: 'reference', reference_to: ['brochure'], field_metadata: { ref_multiple: true } }];
      await s.stack.contentType().create({ content_type: { title: 'Shelf', uid: 'shelf', schema: shelfSchema } });
      const brochure = s.stack.contentType('brochure');
      const a = (await brochure.entry().create({ entry: { title: 'A' } })).uid as string;
      const fr = await brochure.entry(a).fetch({ locale: 'fr-fr' });
      fr.title = 'A (fr)';
      await fr.update({ locale: 'fr-fr' });
      await brochure.entry(a).publish({ publishDetails: { environments: ['brochures'], locales: ['en-us', 'fr-fr'] } });
      const b = (await brochure.entry().create({ entry: { title: 'B' } })).uid as string;
      await assert.rejects(s.stack.environment('brochures').delete(), clientError(409, 'environment'), 'A is published there');

      // Referenced by shelf: refused, with or without force (force=true is named), and nothing goes.
      const from = await lastSeq(h, s);
      await assert.rejects(brochure.delete(), clientError(409, 'content_type'));
      const forced = await brochure.delete({ force: true }).then(() => undefined, (err: any) => err);
      assert.deepEqual([forced?.status, Object.keys(forced?.errors ?? {}).sort()], [409, ['content_type', 'force']]);
      assert.match(forced.errorMessage, /referenced by shelf/);
      assert.deepEqual(await eventsAfter(h, s, from), [], 'no event for a refused delete');
      assert.equal((await brochure.entry(b).fetch()).title, 'B', 'the entries are kept');

      await s.stack.contentType('shelf').delete();
      const before = await lastSeq(h, s);
      // What csdx cm:stacks:migration's deleteContentType sends.
      assert.equal((await h.request('DELETE', '/v3/content_types/brochure?force=false', { headers: s.headers })).status, 200);
      const events = await eventsAfter(h, s, before);
      assert.deepEqual(
        events.map((ev) => `${label(ev)} ${ev.uid}${ev.module === 'entry' ? ` ${[...ev.data.deleted_locales].sort()}` : ''}`),
        [...[`entry.delete ${a} en-us,fr-fr`, `entry.delete ${b} en-us`].sort((x, y) => (x.split(' ')[1]! < y.split(' ')[1]! ? -1 : 1)), 'content_type.delete brochure'],
      );
      assert.ok(events.every((ev) => ev.content_type_uid === 'brochure'));
      assert.equal(events.find((ev) => ev.uid === a)!.data.entry.title, 'A', 'each delete carries its entry before it');
      await assert.rejects(s.stack.contentType('brochure').fetch(), clientError(404));
      // A's publications went with it (deleting an entry removes it from its environments, no
      // unpublish event): the environment holds nothing now and can be deleted.
      await s.stack.environment('brochures').delete();

      // The webhook gets what Contentstack sends: one entry delete per entry, then the type's.
      await rx.waitFor(3);
      await new Promise((r) => setTimeout(r, 300));
      const calls = rx.received.map((r) => `${r.json.module}.${r.json.event} ${r.json.data?.entry?.uid ?? r.json.data?.content_type?.uid}`);
      assert.deepEqual(calls.sort(), [`content_type.delete brochure`, `entry.delete ${a}`, `entry.delete ${b}`].sort());
    } finally {
      await rx.close();
    }
  });
});

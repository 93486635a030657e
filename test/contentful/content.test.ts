import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyRequest } from '@contentful/node-apps-toolkit';
import { archiveAsset } from '../../src/contentful/assets.ts';
import { saveEntry } from '../../src/contentful/entries.ts';
import type { TestHerald } from '../helpers/herald.ts';
import { refusal, SIGNING_SECRET, startSpace, until, verifyingReceiver, type Client } from './helpers/space.ts';

/**
 * Content types, entries and assets through the official `contentful-management` client, and the
 * Contentful-format webhook calls they trigger, verified by `@contentful/node-apps-toolkit`.
 */
describe('content in the Contentful dialect', () => {
  let h: TestHerald;
  let client: Client;
  let spaceId: string;
  let token: string;
  let env: { spaceId: string; environmentId: string };
  let receiver: Awaited<ReturnType<typeof verifyingReceiver>>;
  const v3 = () => ({ api_key: spaceId, authorization: token });

  before(async () => {
    const s = await startSpace();
    ({ h, client, spaceId, env } = s);
    token = s.space.token;
    receiver = await verifyingReceiver();
    await client.webhook.upsertSigningSecret({ spaceId }, { value: SIGNING_SECRET });
    await client.webhook.create({ spaceId }, { name: 'Everything', url: `${receiver.url}/all`, topics: ['*.*'] } as any);
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });

  /** The calls for entity `id`, in the order received, by topic. */
  const topicsFor = (id: string) => receiver.received.filter((r) => r.json?.sys?.id === id).map((r) => String(r.headers['x-contentful-topic']));

  async function waitForTopics(id: string, topics: string[]) {
    await until(() => topics.every((t) => topicsFor(id).includes(t)), 10_000, `${topics.join(', ')} for ${id} (got ${topicsFor(id).join(', ')})`);
  }

  it('creates, updates, publishes, unpublishes and deletes a content type, each delivered with its topic', async () => {
    const ct = await client.contentType.createWithId({ ...env, contentTypeId: 'tempType' }, {
      name: 'Temporary',
      displayField: 'name',
      fields: [{ id: 'name', name: 'Name', type: 'Symbol', required: true }],
    } as any);
    assert.equal(ct.sys.id, 'tempType');
    assert.equal(ct.sys.type, 'ContentType');
    assert.deepEqual(ct.fields.map((f: any) => [f.id, f.type, f.required]), [['name', 'Symbol', true]]);

    const updated = await client.contentType.update({ ...env, contentTypeId: 'tempType' }, { ...ct, name: 'Temporary type' });
    assert.equal(updated.sys.version, 2);
    const stale = await refusal(client.contentType.update({ ...env, contentTypeId: 'tempType' }, { ...ct, name: 'Lost' }));
    assert.equal(stale.name, 'VersionMismatch');

    const first = await client.contentType.publish({ ...env, contentTypeId: 'tempType' }, updated);
    assert.equal(first.sys.publishedCounter, 1);
    const published = await client.contentType.publish({ ...env, contentTypeId: 'tempType' }, updated);
    assert.equal(published.sys.publishedVersion, 2);
    assert.equal(published.sys.publishedCounter, 2);
    assert.equal(published.sys.firstPublishedAt, first.sys.firstPublishedAt);
    const unpublished = await client.contentType.unpublish({ ...env, contentTypeId: 'tempType' });
    assert.equal(unpublished.sys.publishedVersion, undefined);
    await client.contentType.delete({ ...env, contentTypeId: 'tempType' });
    assert.equal((await refusal(client.contentType.get({ ...env, contentTypeId: 'tempType' }))).name, 'NotFound');

    const topics = ['create', 'save', 'publish', 'publish', 'unpublish', 'delete'].map((a) => `ContentManagement.ContentType.${a}`);
    await waitForTopics('tempType', topics);
    assert.deepEqual(topicsFor('tempType'), topics, 'delivered once each, in order');
    const created = receiver.topic('ContentManagement.ContentType.create').find((r) => r.json.sys.id === 'tempType')!;
    assert.equal(created.json.name, 'Temporary');
    assert.equal(receiver.topic('ContentManagement.ContentType.delete').find((r) => r.json.sys.id === 'tempType')!.json.sys.type, 'DeletedContentType');
    for (const r of receiver.received.filter((x) => x.json?.sys?.id === 'tempType')) assert.equal(receiver.verified.get(r), true);
  });

  it('drives an entry through create, save, publish, unpublish, archive, unarchive and delete, with every topic delivered and verified', async () => {
    const ct = await client.contentType.createWithId({ ...env, contentTypeId: 'blogPost' }, {
      name: 'Blog post',
      displayField: 'title',
      fields: [
        { id: 'title', name: 'Title', type: 'Symbol', required: true, localized: true },
        { id: 'views', name: 'Views', type: 'Integer' },
      ],
    } as any);
    await client.contentType.publish({ ...env, contentTypeId: ct.sys.id }, ct);

    const entry = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Hello' }, views: { 'en-US': 1 } } } as any);
    assert.equal(entry.sys.type, 'Entry');
    assert.equal(entry.sys.version, 1);
    assert.equal(entry.sys.contentType.sys.id, 'blogPost');
    assert.deepEqual(entry.fields, { title: { 'en-US': 'Hello' }, views: { 'en-US': 1 } });
    const id = entry.sys.id;

    const saved = await client.entry.update({ ...env, entryId: id }, { ...entry, fields: { title: { 'en-US': 'Hello again' }, views: { 'en-US': 2 } } });
    assert.equal(saved.sys.version, 2);
    const stale = await refusal(client.entry.update({ ...env, entryId: id }, { ...entry, fields: { title: { 'en-US': 'Lost' } } }));
    assert.equal(stale.name, 'VersionMismatch');
    assert.equal(stale.status, 409);

    const published = await client.entry.publish({ ...env, entryId: id }, saved);
    assert.equal(published.sys.publishedCounter, 1);
    assert.ok(published.sys.publishedAt);
    const unpublished = await client.entry.unpublish({ ...env, entryId: id }, published);
    assert.equal(unpublished.sys.publishedAt, undefined);
    const archived = await client.entry.archive({ ...env, entryId: id });
    assert.ok(archived.sys.archivedAt);
    const refused = await refusal(client.entry.publish({ ...env, entryId: id }, archived));
    assert.equal(refused.name, 'ValidationFailed', 'an archived entry cannot be published');
    const unarchived = await client.entry.unarchive({ ...env, entryId: id });
    assert.equal(unarchived.sys.archivedAt, undefined);
    await client.entry.delete({ ...env, entryId: id });
    assert.equal((await refusal(client.entry.get({ ...env, entryId: id }))).name, 'NotFound');

    const topics = ['create', 'save', 'publish', 'unpublish', 'archive', 'unarchive', 'delete'].map((a) => `ContentManagement.Entry.${a}`);
    await waitForTopics(id, topics);
    assert.deepEqual(topicsFor(id), topics);
    const calls = receiver.received.filter((r) => r.json?.sys?.id === id);
    for (const r of calls) {
      assert.equal(receiver.verified.get(r), true, `${r.headers['x-contentful-topic']} verifies`);
      assert.equal(r.headers['content-type'], 'application/vnd.contentful.management.v1+json');
      assert.equal(r.headers['x-contentful-webhook-name'], 'Everything');
      assert.ok(r.headers['x-contentful-idempotency-key']);
    }
    const save = calls[1].json;
    assert.deepEqual(save.fields, { title: { 'en-US': 'Hello again' }, views: { 'en-US': 2 } });
    assert.equal(save.sys.environment.sys.id, 'master');
    assert.equal(save.sys.space.sys.id, spaceId);
    assert.equal(calls[3].json.sys.type, 'DeletedEntry', 'unpublish sends a DeletedEntry');
    assert.equal(calls[6].json.sys.type, 'DeletedEntry', 'delete sends a DeletedEntry');

    // A tampered body does not verify.
    const tampered = { method: 'POST' as const, path: calls[1].url, headers: calls[1].headers as Record<string, string>, body: calls[1].body.replace('Hello again', 'Hello there') };
    assert.equal(verifyRequest(SIGNING_SECRET, tampered), false);
  });

  it('shows the same content through /v3: fields per locale are its localized versions', async () => {
    const locale = await h.request('POST', '/v3/locales', { headers: v3(), body: { locale: { code: 'de-de', name: 'German' } } });
    assert.equal(locale.status, 201);
    // A value in another locale for a field that is not localized is left out, as Contentful omits
    // it (its own migration tool sends one: deriveLinkedEntries writes a link in every locale).
    const entry = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Good morning', 'de-DE': 'Guten Morgen' }, views: { 'en-US': 7, 'de-DE': 9 } } } as any);
    assert.deepEqual(entry.fields.title, { 'en-US': 'Good morning', 'de-DE': 'Guten Morgen' });
    assert.deepEqual(entry.fields.views, { 'en-US': 7 }, 'a field that is not localized shows in the master locale only');
    assert.deepEqual((await client.entry.get({ ...env, entryId: entry.sys.id })).fields.views, { 'en-US': 7 });

    const en = await h.request('GET', `/v3/content_types/blog_post/entries/${entry.sys.id}`, { headers: v3() });
    assert.equal(en.body.entry.title, 'Good morning');
    assert.equal(en.body.entry.views, 7);
    const de = await h.request('GET', `/v3/content_types/blog_post/entries/${entry.sys.id}?locale=de-de`, { headers: v3() });
    assert.equal(de.body.entry.locale, 'de-de');
    assert.equal(de.body.entry.title, 'Guten Morgen');
    assert.equal(de.body.entry.views, 7, 'the German line carries the master value of a field that is not localized');

    // Changed through /v3: the Contentful version moves, and the old one is stale.
    const edit = await h.request('PUT', `/v3/content_types/blog_post/entries/${entry.sys.id}?locale=de-de`, { headers: v3(), body: { entry: { title: 'Moin' } } });
    assert.equal(edit.status, 200);
    const read = await client.entry.get({ ...env, entryId: entry.sys.id });
    assert.equal(read.fields.title['de-DE'], 'Moin');
    assert.equal(read.sys.version, entry.sys.version + 1);
    assert.equal((await refusal(client.entry.update({ ...env, entryId: entry.sys.id }, entry))).name, 'VersionMismatch');

    const list = await client.entry.getMany({ ...env, query: { content_type: 'blogPost' } });
    assert.ok(list.items.some((e: any) => e.sys.id === entry.sys.id));
    assert.equal(list.total, list.items.length);
  });

  it('records an auto-save as auto_save, delivered with the Entry.auto_save topic', async () => {
    const entry = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Draft' } } } as any);
    const res = await fetch(`${h.url}/spaces/${spaceId}/environments/master/entries/${entry.sys.id}?auto_save=true`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-version': String(entry.sys.version) },
      body: JSON.stringify({ fields: { title: { 'en-US': 'Draft, typing' } } }),
    });
    assert.equal(res.status, 200);
    await waitForTopics(entry.sys.id, ['ContentManagement.Entry.auto_save']);
    const call = receiver.topic('ContentManagement.Entry.auto_save').find((r) => r.json.sys.id === entry.sys.id)!;
    assert.equal(call.json.fields.title['en-US'], 'Draft, typing');
    const events = await h.request('GET', '/v3/events?after=0&limit=1000', { headers: v3() });
    assert.ok(events.body.events.some((e: any) => e.uid === entry.sys.id && e.action === 'auto_save'));
  });

  it('uploads a file and drives an asset through create, save, publish, unpublish, archive, unarchive and delete', async () => {
    const upload = await client.upload.create({ spaceId }, { file: Buffer.from('a picture of a cat') } as any);
    assert.equal(upload.sys.type, 'Upload');
    const asset = await client.asset.create(env, {
      fields: {
        title: { 'en-US': 'Cat' },
        file: { 'en-US': { contentType: 'text/plain', fileName: 'cat.txt', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: upload.sys.id } } } },
      },
    } as any);
    const processed = await client.asset.processForAllLocales(env, asset as any);
    const file = processed.fields.file['en-US'] as any;
    assert.equal(file.fileName, 'cat.txt');
    assert.equal(file.details.size, 18);
    assert.equal(await (await fetch(file.url, { headers: v3() })).text(), 'a picture of a cat', 'the file is served at its url');

    const saved = await client.asset.update({ ...env, assetId: asset.sys.id }, { ...processed, fields: { ...processed.fields, title: { 'en-US': 'A cat' } } } as any);
    assert.equal(saved.fields.title['en-US'], 'A cat');
    assert.equal(saved.sys.version, 2);
    const stale = await refusal(client.asset.update({ ...env, assetId: asset.sys.id }, processed as any));
    assert.equal(stale.name, 'VersionMismatch');
    const published = await client.asset.publish({ ...env, assetId: asset.sys.id }, saved as any);
    assert.ok(published.sys.publishedAt);
    await client.asset.unpublish({ ...env, assetId: asset.sys.id });
    await client.asset.archive({ ...env, assetId: asset.sys.id });
    await client.asset.unarchive({ ...env, assetId: asset.sys.id });
    await client.asset.delete({ ...env, assetId: asset.sys.id });

    const topics = ['create', 'save', 'publish', 'unpublish', 'archive', 'unarchive', 'delete'].map((a) => `ContentManagement.Asset.${a}`);
    await waitForTopics(asset.sys.id, topics);
    assert.deepEqual(topicsFor(asset.sys.id), topics);
    for (const r of receiver.received.filter((x) => x.json?.sys?.id === asset.sys.id)) assert.equal(receiver.verified.get(r), true);
    // Published without a locale list: in every locale of the space, as Contentful publishes an
    // asset; Herald records each locale's publication (as /v3 shows it), yet the Contentful-format
    // webhook got one call per publish and unpublish, as Contentful sends.
    const feed = (await h.request('GET', '/v3/events?after=0&limit=1000', { headers: v3() })).body.events as any[];
    const locales = (await client.locale.getMany({ ...env, query: {} } as any)).items.map((l: any) => l.code.toLowerCase()).sort();
    assert.ok(locales.length > 1, 'the space has several locales');
    for (const action of ['publish', 'unpublish']) {
      assert.deepEqual(feed.filter((e) => e.uid === asset.sys.id && e.action === action).map((e) => e.locale).sort(), locales, `${action}: one event per locale`);
    }
    const created = receiver.topic('ContentManagement.Asset.create').find((r) => r.json.sys.id === asset.sys.id)!;
    assert.equal(created.json.fields.file['en-US'].fileName, 'cat.txt');

    const remote = await refusal(
      client.asset.create(env, { fields: { title: { 'en-US': 'Remote' }, file: { 'en-US': { contentType: 'image/png', fileName: 'x.png', upload: 'https://example.com/x.png' } } } } as any),
    );
    assert.equal(remote.name, 'ValidationFailed');
    assert.match(remote.message, /does not fetch/);

    // Data Herald can store: a data: URL.
    const inline = await client.asset.create(env, {
      fields: { title: { 'en-US': 'Inline' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'hi.txt', upload: `data:text/plain;base64,${Buffer.from('hi there').toString('base64')}` } } },
    } as any);
    assert.equal((inline.fields.file['en-US'] as any).details.size, 8);
    const malformed = await refusal(
      client.asset.create(env, { fields: { title: { 'en-US': 'Bad' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'x.txt', upload: 'data:text/plain,%E0%A4%A' } } } } as any),
    );
    assert.deepEqual(malformed.details.errors[0].path, ['fields', 'file', 'en-US', 'upload']);
  });

  it('delivers only what a filter lets through', async () => {
    const filtered = await verifyingReceiver();
    try {
      const type = await client.contentType.createWithId({ ...env, contentTypeId: 'product' }, { name: 'Product', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }] } as any);
      await client.contentType.publish({ ...env, contentTypeId: 'product' }, type);
      await client.webhook.create({ spaceId }, {
        name: 'Products only',
        url: `${filtered.url}/products`,
        topics: ['Entry.create'],
        filters: [{ equals: [{ doc: 'sys.contentType.sys.id' }, 'product'] }, { not: { regexp: [{ doc: 'sys.environment.sys.id' }, { pattern: '^stag' }] } }],
      } as any);
      const post = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Not a product' } } } as any);
      const product = await client.entry.create({ ...env, contentTypeId: 'product' }, { fields: { title: { 'en-US': 'A product' } } } as any);
      await filtered.waitFor(1);
      await waitForTopics(post.sys.id, ['ContentManagement.Entry.create']); // the unfiltered webhook saw both
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(filtered.received.map((r) => r.json.sys.id), [product.sys.id]);
    } finally {
      await filtered.close();
    }
  });

  it('applies a transformation: method, content type, Content-Length and a body template', async () => {
    const target = await verifyingReceiver();
    try {
      await client.webhook.create({ spaceId }, {
        name: 'Transformed',
        url: `${target.url}/transformed?via=herald`,
        topics: ['Entry.save'],
        transformation: {
          method: 'PUT',
          contentType: 'application/json',
          includeContentLength: true,
          body: { id: '{ /payload/sys/id }', title: 'Saved: { /payload/fields/title/en-US }', version: '{ /payload/sys/version }', topic: '{ /topic }' },
        },
      } as any);
      const entry = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Before' } } } as any);
      await client.entry.update({ ...env, entryId: entry.sys.id }, { ...entry, fields: { title: { 'en-US': 'After' } } });
      await target.waitFor(1);
      const got = target.received[0];
      assert.equal(got.method, 'PUT');
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)));
      assert.deepEqual(got.json, { id: entry.sys.id, title: 'Saved: After', version: 2, topic: 'ContentManagement.Entry.save' });
      assert.equal(target.verified.get(got), true, 'the transformed request is signed as sent');
    } finally {
      await target.close();
    }
  });

  it('fails an attempt whose transformation renders past the limit, sends nothing, and shows its log at once', async () => {
    // 5,000 pointers to a ~900 KB entry would render ~4.5 GB: the render stops at 1 MiB instead.
    const target = await verifyingReceiver();
    try {
      const hook = await client.webhook.create({ spaceId }, {
        name: 'Amplifier',
        url: `${target.url}/amplified`,
        topics: ['Entry.create'],
        filters: [{ equals: [{ doc: 'sys.contentType.sys.id' }, 'bignote'] }],
        transformation: { body: { copies: Array.from({ length: 5000 }, () => '{/payload}') } },
      } as any);
      const type = await client.contentType.createWithId({ ...env, contentTypeId: 'bignote' }, { name: 'Big note', fields: [{ id: 'body', name: 'Body', type: 'Text' }] } as any);
      await client.contentType.publish({ ...env, contentTypeId: 'bignote' }, type);
      const entry = await client.entry.create({ ...env, contentTypeId: 'bignote' }, { fields: { body: { 'en-US': 'x'.repeat(900_000) } } } as any);
      let attempt: any;
      await until(async () => {
        const list = await h.request('GET', `/v3/webhooks/${hook.sys.id}/executions`, { headers: v3() });
        attempt = list.body.webhooks?.[0]?.request_details?.[0]
        return attempt !== undefined;
      }, 20_000, 'the first attempt in the log');
      assert.equal(attempt.outcome, 'blocked');
      assert.match(attempt.reason, /renders a body over 1048576 bytes .*nothing was sent/);
      assert.equal(target.received.length, 0, 'nothing reached the receiver');
      // Herald stayed responsive, and the activity log does not rebuild the body.
      assert.equal((await h.request('GET', '/healthz')).status, 200);
      const calls = await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: hook.sys.id });
      assert.ok(calls.items.length >= 1);
      // A dry run of the same webhook shows the body's first 64 KiB, rendered no further.
      const preview = await h.request('POST', '/v3/webhooks/preview', { headers: v3(), body: { webhook_uid: hook.sys.id, webhook: {}, last: 5 } });
      assert.equal(preview.status, 200, JSON.stringify(preview.body).slice(0, 300));
      const shown = preview.body.preview.events.find((e: any) => e.uid === entry.sys.id && e.matches);
      assert.equal(shown.request.truncated, true);
      assert.equal(Buffer.byteLength(shown.request.body), 64 * 1024);
      await client.webhook.delete({ spaceId, webhookDefinitionId: hook.sys.id });
    } finally {
      await target.close();
    }
  });

  it('reads the space, its environments and its locales as Contentful shows them', async () => {
    const space = await client.space.get({ spaceId });
    assert.equal(space.sys.id, spaceId);
    assert.equal(space.name, 'Contentful space');
    const branch = await h.request('POST', '/v3/stacks/branches', { headers: v3(), body: { branch: { uid: 'staging', source: 'main' } } });
    assert.equal(branch.status, 201);
    const envs = await client.environment.getMany({ spaceId });
    assert.deepEqual(envs.items.map((e: any) => e.sys.id).sort(), ['master', 'staging']);
    assert.equal((await client.environment.get({ spaceId, environmentId: 'staging' })).name, 'staging');
    const locales = await client.locale.getMany(env);
    const master = locales.items.find((l: any) => l.default)!;
    assert.equal(master.code, 'en-US');
    assert.ok(locales.items.some((l: any) => l.code === 'de-DE' && l.fallbackCode === 'en-US'));
    // The branch copy is its own environment: content made there stays there.
    const staged = await client.entry.create({ spaceId, environmentId: 'staging', contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Staged' } } } as any);
    assert.equal(staged.sys.environment.sys.id, 'staging');
    assert.equal((await refusal(client.entry.get({ ...env, entryId: staged.sys.id }))).name, 'NotFound');
  });

  it('refuses bad content requests with a Contentful error naming the problem', async () => {
    // Contentful's own answer to a content type it does not have (its status, sys.id, message and empty details).
    const noType = await refusal(client.entry.create({ ...env, contentTypeId: 'ghost' }, { fields: {} } as any));
    assert.deepEqual([noType.status, noType.name, noType.message, noType.details], [400, 'BadRequest', 'The content type you sent could not be found or was not activated.', {}]);
    const badField = await refusal(client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'x' }, nope: { 'en-US': 1 } } } as any));
    assert.deepEqual(badField.details.errors[0].path, ['fields', 'nope']);
    // A required field may be empty in a draft, as in Contentful (contentful-import brings such drafts
    // over); the publish is what refuses it.
    const draft = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { views: { 'en-US': 1 } } } as any);
    assert.equal(draft.fields.title, undefined);
    const saved = await client.entry.update({ ...env, entryId: draft.sys.id }, { ...draft, fields: { views: { 'en-US': 2 } } } as any);
    assert.equal(saved.sys.version, draft.sys.version + 1);
    const required = await refusal(client.entry.publish({ ...env, entryId: draft.sys.id }, saved));
    assert.deepEqual([required.status, required.name], [422, 'ValidationFailed']);
    assert.match(required.message, /title/);
    assert.equal((await client.entry.get({ ...env, entryId: draft.sys.id })).sys.publishedVersion, undefined, 'nothing published');
    const badInteger = await refusal(client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'x' }, views: { 'en-US': 1.5 } } } as any));
    assert.deepEqual(badInteger.details.errors[0].path, ['fields', 'views', 'en-US']);
    // Taxonomy concepts are not kept: refused, naming the field, rather than dropped; an empty list (as exported) is fine.
    const concept = [{ sys: { type: 'Link', linkType: 'TaxonomyConcept', id: 'c1' } }];
    const conceptEntry = await refusal(client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'x' } }, metadata: { tags: [], concepts: concept } } as any));
    assert.deepEqual([conceptEntry.status, conceptEntry.details.errors.map((e: any) => e.path.join('.'))], [422, ['metadata.concepts']]);
    const conceptAsset = await refusal(client.asset.create(env, { fields: { title: { 'en-US': 'x' } }, metadata: { tags: [], concepts: concept } } as any));
    assert.deepEqual([conceptAsset.status, conceptAsset.details.errors.map((e: any) => e.path.join('.'))], [422, ['metadata.concepts']]);
    const noConcepts = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'x' } }, metadata: { tags: [], concepts: [] } } as any);
    assert.deepEqual(noConcepts.metadata, { tags: [], concepts: [] });
    // A content type's metadata (annotations, taxonomy) and a field property Herald does not know were
    // dropped, silently: refused, naming them; an empty metadata is nothing to keep.
    const annotation = { ContentType: [{ sys: { id: 'Contentful:AggregateRoot', type: 'Link', linkType: 'Annotation' } }] };
    const annotated = await refusal(client.contentType.createWithId({ ...env, contentTypeId: 'annotated' }, { name: 'Annotated', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }], metadata: { annotations: annotation } } as any));
    assert.deepEqual([annotated.status, annotated.details.errors.map((e: any) => e.path.join('.'))], [422, ['metadata.annotations']]);
    const unknownProp = await refusal(client.contentType.createWithId({ ...env, contentTypeId: 'annotated' }, { name: 'Annotated', fields: [{ id: 'title', name: 'Title', type: 'Symbol', allowedResources: [] }] } as any));
    assert.deepEqual([unknownProp.status, unknownProp.details.errors.map((e: any) => e.path.join('.'))], [422, ['fields.0.allowedResources']]);
    await assert.rejects(client.contentType.get({ ...env, contentTypeId: 'annotated' }), 'neither was made');
    const emptyMeta = await client.contentType.createWithId({ ...env, contentTypeId: 'annotated' }, { name: 'Annotated', fields: [{ id: 'title', name: 'Title', type: 'Symbol', deleted: false }], metadata: { annotations: { ContentType: [] } } } as any);
    assert.deepEqual(emptyMeta.fields.map((f: any) => f.id), ['title']);
    // A single resource's GET takes no query parameter in Contentful's management API; one was ignored
    // (select answered the whole entry): a 400 naming it, through contentful-management's query.
    const selected = await refusal(client.entry.get({ ...env, entryId: draft.sys.id, query: { select: 'fields.title' } } as any));
    assert.deepEqual([selected.status, selected.name, selected.details.errors[0].path], [400, 'InvalidQuery', ['select']]);
    const typeQuery = await refusal(client.contentType.get({ ...env, contentTypeId: 'blogPost', query: { locale: 'en-US' } } as any));
    assert.deepEqual([typeQuery.status, typeQuery.details.errors[0].path], [400, ['locale']]);
    for (const path of ['', '/environments/master', '/environments/master/locales/en-us', '/environments/master/content_types/blogPost/editor_interface', '/webhook_settings/retry_policy']) {
      const r = await fetch(`${h.url}/spaces/${spaceId}${path}?sys.id=x`, { headers: { authorization: `Bearer ${token}` } });
      const body = await r.json();
      assert.deepEqual([r.status, body.sys.id, body.details.errors[0].path], [400, 'InvalidQuery', ['sys', 'id']], path);
    }
    assert.equal((await client.entry.get({ ...env, entryId: draft.sys.id })).sys.id, draft.sys.id, 'without a query, as before');
    const noEnv = await refusal(client.entry.getMany({ spaceId, environmentId: 'nowhere' }));
    assert.equal(noEnv.name, 'NotFound');
    const res = await fetch(`${h.url}/spaces/${spaceId}/environments/master/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-content-type': 'blogPost' },
      body: '{"fields": ',
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).sys.id, 'BadRequest');
  });

  it('refuses a query parameter on a management write, naming it, and changes nothing', async () => {
    // Contentful's management API defines no query parameter on its writes; one was ignored, so a
    // caller who meant `?locale=de-DE` updated every locale. Through contentful-management's raw API.
    const entry = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'Kept' } } } as any);
    const url = `/spaces/${spaceId}/environments/master/entries/${entry.sys.id}`;
    const localized = await refusal(client.raw.put(url, { fields: { title: { 'en-US': 'Changed' } } }, { headers: { 'X-Contentful-Version': entry.sys.version }, params: { locale: 'de-DE' } }));
    assert.deepEqual([localized.status, localized.name, localized.details.errors[0].path], [400, 'InvalidQuery', ['locale']]);
    const same = await client.entry.get({ ...env, entryId: entry.sys.id });
    assert.deepEqual([same.sys.version, same.fields.title], [entry.sys.version, { 'en-US': 'Kept' }]);
    // Creates, publishes, deletes, and writes outside content too (raw requests).
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json' };
    const writes: Array<[string, string, Record<string, string>?, string?]> = [
      ['POST', `/spaces/${spaceId}/environments/master/entries?select=sys.id`, { 'x-contentful-content-type': 'blogPost' }, JSON.stringify({ fields: { title: { 'en-US': 'New' } } })],
      ['PUT', `${url}/published?locale=de-DE`, { 'x-contentful-version': String(entry.sys.version) }],
      ['DELETE', `${url}?force=true`],
      ['PUT', `/spaces/${spaceId}/environments/master/content_types/blogPost?sys.id=x`, {}, '{}'],
      ['PUT', `/spaces/${spaceId}/environments/qa?source=master`, {}, JSON.stringify({ name: 'qa' })],
      ['DELETE', `/spaces/${spaceId}/webhook_settings/retry_policy?x=1`],
    ];
    for (const [method, path, headers, body] of writes) {
      const r = await fetch(`${h.url}${path}`, { method, headers: { ...auth, ...headers }, ...(body ? { body } : {}) });
      const answer = await r.json();
      const name = new URL(path, h.url).searchParams.keys().next().value;
      assert.deepEqual([r.status, answer.sys.id, answer.details.errors[0].path.join('.')], [400, 'InvalidQuery', name], `${method} ${path}`);
      assert.match(answer.message, /defines none on writes/);
    }
    const after = await client.entry.getMany({ ...env, query: { 'fields.title': 'New', content_type: 'blogPost' } });
    assert.equal(after.total, 0, 'the POST made nothing');
    const kept = await client.entry.get({ ...env, entryId: entry.sys.id });
    assert.deepEqual([kept.sys.version, kept.sys.publishedVersion], [entry.sys.version, undefined], 'not published, not deleted');
    assert.equal((await refusal(client.environment.get({ spaceId, environmentId: 'qa' }))).name, 'NotFound');
    // The token sent both in the Authorization header and in the query is named, not ignored
    // (the query alone is taken: query-token.test.ts).
    const inQuery = await fetch(`${h.url}${url}?access_token=${token}`, { method: 'DELETE', headers: auth });
    const tokenAnswer = await inQuery.json();
    assert.deepEqual([inQuery.status, tokenAnswer.details.errors[0].path], [400, ['access_token']]);
    assert.match(tokenAnswer.message, /send the token once/);
    assert.ok(!JSON.stringify(tokenAnswer).includes(token), 'the token is not echoed');
    // auto_save, Herald's own parameter, is still taken.
    const saved = await client.raw.put(`${url}?auto_save=true`, { fields: { title: { 'en-US': 'Auto' } } }, { headers: { 'X-Contentful-Version': entry.sys.version } });
    assert.equal((saved as any).fields.title['en-US'], 'Auto');
  });

  it('commits entry and asset writes asked for in one turn together (SQLite), as /v3 does', async (t) => {
    if (h.herald.db.dialect !== 'sqlite') return t.skip('PostgreSQL runs transactions side by side');
    const one = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'one' } } } as any);
    const two = await client.entry.create({ ...env, contentTypeId: 'blogPost' }, { fields: { title: { 'en-US': 'two' } } } as any);
    const asset = await client.asset.create(env, {
      fields: { title: { 'en-US': 'Gathered' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'g.txt', upload: `data:text/plain;base64,${Buffer.from('g').toString('base64')}` } } },
    } as any);
    const scope = { api_key: spaceId, branch: 'main', caller: { kind: 'admin', actor: 'admin' } as const };
    const ctx = { spaceId, environmentId: 'master' };
    // Read through the reader connection, which sees committed writes only.
    const committed = async () => ({
      two: JSON.parse((await h.herald.db.get<{ doc: string }>('SELECT doc FROM entries WHERE api_key = ? AND uid = ?', [spaceId, two.sys.id]))!.doc).title,
      archived: Number((await h.herald.db.get<{ archived: number }>('SELECT archived FROM assets WHERE api_key = ? AND uid = ?', [spaceId, asset.sys.id]))!.archived),
    });
    let seen: unknown;
    await Promise.all([
      saveEntry(h.herald, scope, ctx, one.sys.id, one.sys.version, { fields: { title: { 'en-US': 'one after' } } }, false).then(async () => (seen = await committed())),
      saveEntry(h.herald, scope, ctx, two.sys.id, two.sys.version, { fields: { title: { 'en-US': 'two after' } } }, false),
      archiveAsset(h.herald, scope, ctx, asset.sys.id, true, h.url),
    ]);
    // When the first answers, the others asked for with it have committed too: one COMMIT.
    assert.deepEqual(seen, { two: 'two after', archived: 1 });
  });
});

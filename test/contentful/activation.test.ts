import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestHerald } from '../helpers/herald.ts';
import { refusal, startSpace, type Client } from './helpers/space.ts';

/**
 * Contentful makes and publishes entries only on activated content types: one that is not in the
 * environment, or is a draft never activated (or deactivated since), is answered 400 BadRequest
 * "The content type you sent could not be found or was not activated." with empty details.
 * Through contentful-management (plain client, unmodified) against a real Herald; /v3 has no
 * activation, so Contentstack's API is not refused. A content type that has entries is not deactivated
 * (400 BadRequest "Content Type has entries"), so only /v3 puts entries on a draft: the dialect saves
 * and publishes none of them.
 */

const NOT_ACTIVATED = 'The content type you sent could not be found or was not activated.';
const NAME = [{ id: 'name', name: 'Name', type: 'Symbol' }];

/** Contentful's refusal, as the client reports it: status, sys.id (the error's name), message, details. */
const shape = (r: { status: number; name: string; message: string; details: unknown }) => [r.status, r.name, r.message, r.details];

describe('entries on content types that are not activated', () => {
  let h: TestHerald;
  let client: Client;
  let env: { spaceId: string; environmentId: string };
  let v3: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

  before(async () => {
    const s = await startSpace();
    ({ h, client, env } = s);
    v3 = (method, path, body) => h.request(method, `/v3${path}`, { headers: { api_key: s.spaceId, authorization: s.space.token }, body });
  });
  after(() => h.close());

  it('refuses an entry on a draft never activated, as POST and as PUT with an id, and makes nothing', async () => {
    await client.contentType.createWithId({ ...env, contentTypeId: 'draftType' }, { name: 'Draft', fields: NAME } as any);
    const posted = await refusal(client.entry.create({ ...env, contentTypeId: 'draftType' }, { fields: { name: { 'en-US': 'x' } } } as any));
    assert.deepEqual(shape(posted), [400, 'BadRequest', NOT_ACTIVATED, {}]);
    const put = await refusal(client.entry.createWithId({ ...env, contentTypeId: 'draftType', entryId: 'with-id' }, { fields: { name: { 'en-US': 'x' } } } as any));
    assert.deepEqual(shape(put), [400, 'BadRequest', NOT_ACTIVATED, {}]);
    assert.equal((await client.entry.getMany({ ...env, query: { content_type: 'draftType' } })).total, 0);
    // Nothing recorded either: the stack's events hold no entry event.
    const events = await v3('GET', '/events');
    assert.equal(events.status, 200);
    assert.deepEqual(events.body.events.filter((e: any) => e.module === 'entry'), []);
  });

  it('answers a content type the environment does not have in the same words', async () => {
    const ghost = await refusal(client.entry.create({ ...env, contentTypeId: 'ghost' }, { fields: {} } as any));
    assert.deepEqual(shape(ghost), [400, 'BadRequest', NOT_ACTIVATED, {}]);
  });

  it('allows entries once the content type is activated, and still after it changes as a draft with a published version', async () => {
    const made = await client.contentType.get({ ...env, contentTypeId: 'draftType' });
    const activated = await client.contentType.publish({ ...env, contentTypeId: 'draftType' }, made);
    const first = await client.entry.create({ ...env, contentTypeId: 'draftType' }, { fields: { name: { 'en-US': 'first' } } } as any);
    // A change not yet activated: Contentful keeps the activated version, so entries stay allowed.
    const changed = await client.contentType.update({ ...env, contentTypeId: 'draftType' }, { ...activated, name: 'Changed, not activated' });
    assert.equal(changed.sys.publishedVersion, activated.sys.version, 'the change is a draft over a published version');
    assert.ok(changed.sys.version > changed.sys.publishedVersion!);
    const second = await client.entry.create({ ...env, contentTypeId: 'draftType' }, { fields: { name: { 'en-US': 'second' } } } as any);
    const published = await client.entry.publish({ ...env, entryId: second.sys.id }, second);
    assert.equal(published.sys.publishedVersion, 1);
    assert.equal((await client.entry.getMany({ ...env, query: { content_type: 'draftType' } })).items.map((e: any) => e.sys.id).sort().join(), [first.sys.id, second.sys.id].sort().join());
  });

  it('refuses to deactivate a content type while it has entries, archived ones too, as Contentful does ("Content Type has entries")', async () => {
    const entries = (await client.entry.getMany({ ...env, query: { content_type: 'draftType', order: 'sys.createdAt' } })).items as any[];
    assert.equal(entries.length, 2);
    const hasEntries = await refusal(client.contentType.unpublish({ ...env, contentTypeId: 'draftType' }));
    assert.deepEqual(shape(hasEntries), [400, 'BadRequest', 'Content Type has entries', {}]);
    assert.ok((await client.contentType.get({ ...env, contentTypeId: 'draftType' })).sys.publishedVersion, 'still activated');
    // One archived entry is enough to keep it activated.
    const [first, second] = entries;
    await client.entry.unpublish({ ...env, entryId: second.sys.id });
    await client.entry.delete({ ...env, entryId: second.sys.id });
    await client.entry.archive({ ...env, entryId: first.sys.id });
    assert.deepEqual(shape(await refusal(client.contentType.unpublish({ ...env, contentTypeId: 'draftType' }))), [400, 'BadRequest', 'Content Type has entries', {}]);
    await client.entry.unarchive({ ...env, entryId: first.sys.id });
    await client.entry.delete({ ...env, entryId: first.sys.id });

    const deactivated = await client.contentType.unpublish({ ...env, contentTypeId: 'draftType' });
    assert.equal(deactivated.sys.publishedVersion, undefined);
    const again = await refusal(client.contentType.unpublish({ ...env, contentTypeId: 'draftType' }));
    assert.deepEqual(shape(again), [400, 'BadRequest', 'Not published', {}]);
    // Deactivated: no entry may be made on it.
    const another = await refusal(client.entry.create({ ...env, contentTypeId: 'draftType' }, { fields: { name: { 'en-US': 'third' } } } as any));
    assert.deepEqual(shape(another), [400, 'BadRequest', NOT_ACTIVATED, {}]);
  });

  it('allows entries on a content type made through /v3 (Contentstack has no activation), and /v3 entries on a Contentful draft', async () => {
    const made = await v3('POST', '/content_types', { content_type: { title: 'Made in v3', uid: 'made_in_v3', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const e = await client.entry.create({ ...env, contentTypeId: 'made_in_v3' }, { fields: { title: { 'en-US': 'Through Contentful' } } } as any);
    await client.entry.publish({ ...env, entryId: e.sys.id }, e);
    await client.contentType.createWithId({ ...env, contentTypeId: 'otherDraft' }, { name: 'Other draft', fields: NAME } as any);
    const v3Entry = await v3('POST', '/content_types/other_draft/entries', { entry: { title: 'Through Contentstack', name: 'v3' } });
    assert.equal(v3Entry.status, 201, JSON.stringify(v3Entry.body));
  });

  it('refuses to save or publish through the dialect an entry on a draft (made through /v3), and lets it be deleted', async () => {
    const made = await v3('POST', '/content_types/other_draft/entries', { entry: { title: 'On a draft', name: 'before' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const entryId = made.body.entry.uid as string;
    const read = await client.entry.get({ ...env, entryId });
    const saved = await refusal(client.entry.update({ ...env, entryId }, { ...read, fields: { name: { 'en-US': 'after' } } } as any));
    assert.deepEqual(shape(saved), [400, 'BadRequest', NOT_ACTIVATED, {}]);
    const published = await refusal(client.entry.publish({ ...env, entryId }, read));
    assert.deepEqual(shape(published), [400, 'BadRequest', NOT_ACTIVATED, {}]);
    const now = await client.entry.get({ ...env, entryId });
    assert.deepEqual([now.fields.name['en-US'], now.sys.version, now.sys.publishedVersion], ['before', read.sys.version, undefined], 'nothing changed');
    await client.entry.delete({ ...env, entryId });
    assert.equal((await refusal(client.entry.get({ ...env, entryId }))).name, 'NotFound');
  });

  it('keeps a draft a draft in an environment copied from master: its entries are refused there too', async () => {
    await client.contentType.createWithId({ ...env, contentTypeId: 'copiedDraft' }, { name: 'Copied draft', fields: NAME } as any);
    await client.environment.createWithId({ spaceId: env.spaceId, environmentId: 'staging' }, { name: 'Staging' });
    const staging = { spaceId: env.spaceId, environmentId: 'staging' };
    const refused = await refusal(client.entry.create({ ...staging, contentTypeId: 'copiedDraft' }, { fields: { name: { 'en-US': 'x' } } } as any));
    assert.deepEqual(shape(refused), [400, 'BadRequest', NOT_ACTIVATED, {}]);
    const ct = await client.contentType.get({ ...staging, contentTypeId: 'copiedDraft' });
    await client.contentType.publish({ ...staging, contentTypeId: 'copiedDraft' }, ct);
    await client.entry.create({ ...staging, contentTypeId: 'copiedDraft' }, { fields: { name: { 'en-US': 'x' } } } as any);
    const master = await refusal(client.entry.create({ ...env, contentTypeId: 'copiedDraft' }, { fields: { name: { 'en-US': 'x' } } } as any));
    assert.equal(master.status, 400, 'activated in staging only: master keeps its draft');
  });
});

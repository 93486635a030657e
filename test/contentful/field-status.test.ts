import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldStatus } from '../../src/contentful/field-status.ts';
import type { TestHerald } from '../helpers/herald.ts';
import { startSpace, type Client } from './helpers/space.ts';

describe('sys.fieldStatus: publishing status per locale on the management API', () => {
  it('is draft where nothing is published, published where the published version is current, changed where saved since', () => {
    const lines = [
      { locale: 'en-us', version: 3 },
      { locale: 'de-de', version: 2 },
    ];
    assert.deepEqual(fieldStatus(['en-us', 'de-de', 'fr-fr'], lines, [], 3), { '*': { 'en-US': 'draft', 'de-DE': 'draft', 'fr-FR': 'draft' } });
    assert.deepEqual(fieldStatus(['en-us', 'de-de'], lines, [{ locale: 'en-us', version: 3 }, { locale: 'de-de', version: 1 }], 3), { '*': { 'en-US': 'published', 'de-DE': 'changed' } });
    // A locale published without a line of its own (through /v3, from the master line) compares with the fallback.
    assert.deepEqual(fieldStatus(['en-us', 'fr-fr'], lines, [{ locale: 'fr-fr', version: 3 }], 3), { '*': { 'en-US': 'draft', 'fr-FR': 'published' } });
    assert.deepEqual(fieldStatus(['fr-fr'], [], [{ locale: 'fr-fr', version: 3 }], 4), { '*': { 'fr-FR': 'changed' } });
  });

  describe('through contentful-management', () => {
    let h: TestHerald;
    let client: Client;
    let token: string;
    let env: { spaceId: string; environmentId: string };
    const status = (e: any) => e.sys.fieldStatus['*'];

    before(async () => {
      const s = await startSpace();
      ({ h, client, env } = s);
      token = s.space.token;
      await client.locale.create(env, { name: 'German', code: 'de-DE', fallbackCode: 'en-US', optional: true } as any);
      const ct = await client.contentType.createWithId({ ...env, contentTypeId: 'page' }, {
        name: 'Page',
        displayField: 'title',
        fields: [{ id: 'title', name: 'Title', type: 'Symbol', localized: true }],
      } as any);
      await client.contentType.publish({ ...env, contentTypeId: 'page' }, ct);
    });
    after(() => h.close());

    it("follows an entry's publishing in each locale: publish with locales, save one locale, unpublish one", async () => {
      const id = { ...env, entryId: 'home' };
      let e: any = await client.entry.createWithId({ ...id, contentTypeId: 'page' }, { fields: { title: { 'en-US': 'Home', 'de-DE': 'Startseite' } } });
      assert.deepEqual(status(e), { 'en-US': 'draft', 'de-DE': 'draft' });
      e = await client.entry.publish({ ...id, locales: ['en-US'] } as any, e);
      assert.deepEqual(status(e), { 'en-US': 'published', 'de-DE': 'draft' });
      e = await client.entry.update(id, { ...e, fields: { title: { 'en-US': 'Home', 'de-DE': 'Start' } } });
      assert.deepEqual(status(e), { 'en-US': 'published', 'de-DE': 'draft' }, 'saving German leaves English published');
      e = await client.entry.publish(id, e);
      assert.deepEqual(status(e), { 'en-US': 'published', 'de-DE': 'published' });
      e = await client.entry.update(id, { ...e, fields: { title: { 'en-US': 'Home', 'de-DE': 'Willkommen' } } });
      assert.deepEqual(status(e), { 'en-US': 'published', 'de-DE': 'changed' });
      e = await client.entry.unpublish({ ...id, locales: ['en-US'] } as any, e);
      assert.deepEqual(status(e), { 'en-US': 'draft', 'de-DE': 'changed' });
      // The same on reads: one entry and the collection.
      assert.deepEqual(status(await client.entry.get(id)), { 'en-US': 'draft', 'de-DE': 'changed' });
      const listed = await client.entry.getMany({ ...env, query: { 'sys.id': 'home' } });
      assert.deepEqual(status(listed.items[0]), { 'en-US': 'draft', 'de-DE': 'changed' });
    });

    it("follows an asset's publishing in each locale, publish and unpublish with locales applied", async () => {
      const id = { ...env, assetId: 'logo' };
      let a: any = await client.asset.createWithId(id, {
        fields: { title: { 'en-US': 'Logo' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'logo.txt', upload: 'data:text/plain;base64,bG9nbw==' } } },
      } as any);
      if (!a.fields.file['en-US'].url) a = await client.asset.processForAllLocales(env, a);
      a = await client.asset.get(id);
      assert.deepEqual(status(a), { 'en-US': 'draft', 'de-DE': 'draft' });
      a = await client.asset.publish({ ...id, locales: ['de-DE'] } as any, a);
      assert.deepEqual(status(a), { 'en-US': 'draft', 'de-DE': 'published' }, 'published in German only, as asked');
      a = await client.asset.publish(id, a);
      assert.deepEqual(status(a), { 'en-US': 'published', 'de-DE': 'published' });
      a = await client.asset.unpublish({ ...id, locales: ['de-DE'] } as any, a);
      assert.deepEqual(status(a), { 'en-US': 'published', 'de-DE': 'draft' }, 'unpublished in German only, as asked');
      a = await client.asset.update(id, { ...a, fields: { ...a.fields, title: { 'en-US': 'New logo' } } });
      assert.deepEqual(status(a), { 'en-US': 'changed', 'de-DE': 'draft' });
    });
    it('publishes an asset in every locale when no locale is named, as Contentful does: fieldStatus, the delivery API and one event per locale', async () => {
      const id = { ...env, assetId: 'banner' };
      let a: any = await client.asset.createWithId(id, {
        fields: { title: { 'en-US': 'Banner' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'banner.txt', upload: 'data:text/plain;base64,YmFubmVy' } } },
      } as any);
      if (!a.fields.file['en-US'].url) a = await client.asset.processForAllLocales(env, a);
      a = await client.asset.get(id);
      const v3 = { authorization: `Bearer ${token}`, api_key: env.spaceId };
      const from = ((await h.request('GET', '/v3/events?limit=1000', { headers: v3 })).body.events as any[]).at(-1)?.seq ?? 0;
      a = await client.asset.publish(id, a);
      assert.deepEqual(status(a), { 'en-US': 'published', 'de-DE': 'published' });
      // One publish event per locale, the master locale's first (Herald records each locale's publication).
      const events = (await h.request('GET', `/v3/events?after=${from}&limit=1000`, { headers: v3 })).body.events as any[];
      assert.deepEqual(events.map((e) => `${e.module}.${e.action}@${e.environment}/${e.locale}`), ['asset.publish@master/en-us', 'asset.publish@master/de-de']);
      // The delivery API with locale-based publishing finds it in German too.
      const key = await h.request('POST', `/spaces/${env.spaceId}/api_keys`, { headers: { authorization: `Bearer ${token}` }, body: { name: 'site', environments: [{ sys: { type: 'Link', linkType: 'Environment', id: 'master' } }] } });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const read = await h.request('GET', `/spaces/${env.spaceId}/environments/master/assets/banner?locale=de-DE`, {
        headers: { authorization: `Bearer ${key.body.accessToken}`, 'x-contentful-locale-based-publishing': 'true' },
      });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.fields.title, 'Banner');
    });
  });
});

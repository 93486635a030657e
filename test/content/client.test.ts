import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pruneRetiredFiles } from '../../src/content/assets.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { testBackends } from '../helpers/postgres.ts';
import { clientError, clientStack, eventsAfter, stackOf, type TestStack } from './helpers/content.ts';

/**
 * The content API driven through Contentstack's official `@contentstack/management` client,
 * unmodified, against a running Herald.
 */
// Runs on SQLite and on PostgreSQL (when reachable, see helpers/postgres.ts).
for (const backend of await testBackends()) describe(`content through the official Contentstack client on ${backend}`, () => {
  let h: TestHerald;
  let s: TestStack;

  before(async () => {
    h = await startHerald({ backend });
    s = await clientStack(h);
    await s.stack.environment().create({ environment: { name: 'development' } });
    await s.stack.environment().create({ environment: { name: 'production' } });
    await s.stack.locale().create({ locale: { code: 'fr-fr', name: 'French' } });
    await s.stack.contentType().create({
      content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }] },
    });
  });
  after(() => h.close());

  describe('environments', () => {
    it('creates, fetches by name, lists, renames and deletes an environment', async () => {
      const env = await s.stack.environment().create({ environment: { name: 'staging', urls: [{ locale: 'en-us', url: 'https://staging.example.com' }] } });
      assert.equal(env.name, 'staging');
      assert.match(env.uid, /^blt/);
      const fetched = await s.stack.environment('staging').fetch();
      assert.deepEqual(fetched.urls, [{ locale: 'en-us', url: 'https://staging.example.com' }]);
      const list = await s.stack.environment().query().find();
      assert.deepEqual(list.items.map((e: any) => e.name).sort(), ['development', 'production', 'staging']);
      fetched.name = 'preview';
      const renamed = await fetched.update();
      assert.equal(renamed.name, 'preview');
      assert.equal(renamed.uid, env.uid);
      await assert.rejects(s.stack.environment('staging').fetch(), clientError(404));
      await s.stack.environment('preview').delete();
      await assert.rejects(s.stack.environment('preview').fetch(), clientError(404));
    });

    it('refuses a second environment with the same name', async () => {
      await assert.rejects(s.stack.environment().create({ environment: { name: 'development' } }), clientError(409, 'environment.name'));
    });
  });

  describe('locales', () => {
    it('starts with the master locale and adds, renames and removes others', async () => {
      const list = await s.stack.locale().query().find();
      assert.deepEqual(list.items.map((l: any) => l.code), ['en-us', 'fr-fr']);
      const de = await s.stack.locale().create({ locale: { code: 'de-de', name: 'German' } });
      assert.equal(de.fallback_locale, 'en-us');
      const fetched = await s.stack.locale('de-de').fetch();
      fetched.name = 'Deutsch';
      const updated = await fetched.update();
      assert.equal(updated.name, 'Deutsch');
      await s.stack.locale('de-de').delete();
      await assert.rejects(s.stack.locale('de-de').fetch(), clientError(404));
    });

    it('refuses to delete the master locale', async () => {
      await assert.rejects(s.stack.locale('en-us').delete(), clientError(422));
    });
  });

  describe('content types', () => {
    it('creates one with every field type, then fetches, lists, updates and deletes it', async () => {
      const created = await s.stack.contentType().create({
        content_type: {
          title: 'Kitchen Sink',
          uid: 'kitchen_sink',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true },
            { uid: 'count', display_name: 'Count', data_type: 'number' },
            { uid: 'flag', display_name: 'Flag', data_type: 'boolean' },
            { uid: 'when', display_name: 'When', data_type: 'isodate' },
            { uid: 'data', display_name: 'Data', data_type: 'json' },
            { uid: 'image', display_name: 'Image', data_type: 'file' },
            { uid: 'writer', display_name: 'Writer', data_type: 'reference', reference_to: ['author'] },
            { uid: 'labels', display_name: 'Labels', data_type: 'text', multiple: true },
            { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'keywords', display_name: 'Keywords', data_type: 'text' }] },
          ],
        },
      });
      assert.equal(created.uid, 'kitchen_sink');
      assert.equal(created._version, 1);
      const fetched = await s.stack.contentType('kitchen_sink').fetch();
      assert.equal(fetched.schema.length, 9);
      assert.deepEqual(fetched.schema[6].reference_to, ['author']);

      const list = await s.stack.contentType().query({ include_count: true }).find();
      assert.ok(list.items.some((ct: any) => ct.uid === 'kitchen_sink'));
      assert.equal(list.count, list.items.length);

      fetched.title = 'Kitchen Sink 2';
      fetched.schema.push({ uid: 'extra', display_name: 'Extra', data_type: 'text' });
      const updated = await fetched.update();
      assert.equal(updated.title, 'Kitchen Sink 2');
      assert.equal(updated._version, 2);
      assert.equal(updated.schema.length, 10);

      await s.stack.contentType('kitchen_sink').delete();
      await assert.rejects(s.stack.contentType('kitchen_sink').fetch(), clientError(404));
    });

    it('refuses a schema with a bad field, naming it', async () => {
      await assert.rejects(
        s.stack.contentType().create({ content_type: { title: 'Bad', uid: 'bad', schema: [{ uid: 'x', display_name: 'X', data_type: 'reference', reference_to: ['nope'] }] } }),
        clientError(422, 'content_type.schema.x.reference_to'),
      );
    });

    it('deletes a content type with its entries, as Contentstack does', async () => {
      await s.stack.contentType().create({ content_type: { title: 'Busy', uid: 'busy', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
      const e = await s.stack.contentType('busy').entry().create({ entry: { title: 'x' } });
      await s.stack.contentType('busy').delete();
      await assert.rejects(s.stack.contentType('busy').fetch(), clientError(404));
      // Made again with the same uid, it starts empty: the entry went with the old one.
      await s.stack.contentType().create({ content_type: { title: 'Busy', uid: 'busy', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
      await assert.rejects(s.stack.contentType('busy').entry(e.uid).fetch(), clientError(404));
      assert.equal((await s.stack.contentType('busy').entry().query().find()).items.length, 0);
    });
  });

  describe('what content depends on', () => {
    it('refuses to delete a locale with localized entries, or an environment with published items', async () => {
      await s.stack.locale().create({ locale: { code: 'es-es', name: 'Spanish' } });
      await s.stack.environment().create({ environment: { name: 'qa' } });
      const e = await s.stack.contentType('author').entry().create({ entry: { title: 'Ana' } });
      await e.update({ locale: 'es-es' });
      await assert.rejects(s.stack.locale('es-es').delete(), clientError(409, 'locale'));
      await e.publish({ publishDetails: { environments: ['qa'], locales: ['en-us'] } });
      await assert.rejects(s.stack.environment('qa').delete(), clientError(409, 'environment'));

      await e.unpublish({ publishDetails: { environments: ['qa'], locales: ['en-us'] } });
      await s.stack.environment('qa').delete();
      await s.stack.contentType('author').entry(e.uid).delete({ locale: 'es-es' });
      assert.equal((await s.stack.contentType('author').entry(e.uid).fetch()).title, 'Ana', 'the master version stays');
      await s.stack.locale('es-es').delete();
    });

    it('allows one entry only in a singleton content type', async () => {
      await s.stack.contentType().create({ content_type: { title: 'Settings', uid: 'settings', options: { singleton: true }, schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
      await s.stack.contentType('settings').entry().create({ entry: { title: 'the one' } });
      await assert.rejects(s.stack.contentType('settings').entry().create({ entry: { title: 'another' } }), clientError(422, 'entry'));
    });
  });

  describe('entries', () => {
    before(async () => {
      await s.stack.contentType().create({
        content_type: {
          title: 'Blog',
          uid: 'blog',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true },
            { uid: 'body', display_name: 'Body', data_type: 'text' },
            { uid: 'views', display_name: 'Views', data_type: 'number' },
            { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['author'] },
          ],
        },
      });
    });

    it('creates, fetches, updates (bumping _version) and keeps old versions readable', async () => {
      const blog = s.stack.contentType('blog');
      const created = await blog.entry().create({ entry: { title: 'Versioned', body: 'first' } });
      assert.equal(created._version, 1);
      assert.equal(created.locale, 'en-us');

      // The client's fetch-then-update sends system fields (content_type_uid, locale, _version...) back.
      const fetched = await blog.entry(created.uid).fetch();
      fetched.body = 'second';
      const v2 = await fetched.update();
      assert.equal(v2._version, 2);
      assert.equal(v2.body, 'second');
      v2.body = 'third';
      const v3 = await v2.update();
      assert.equal(v3._version, 3);

      const old = await blog.entry(created.uid).fetch({ version: 1 });
      assert.equal(old.body, 'first');
      assert.equal(old._version, 1);
      const latest = await blog.entry(created.uid).fetch();
      assert.equal(latest.body, 'third');

      const versions = await h.request('GET', `/v3/content_types/blog/entries/${created.uid}/versions`, { headers: s.headers });
      assert.equal(versions.status, 200);
      assert.deepEqual(versions.body.versions.map((v: any) => v._version), [3, 2, 1]);
      await assert.rejects(blog.entry(created.uid).fetch({ version: 9 }), clientError(404));
    });

    it('keeps one version line per locale: localizing is an update with ?locale=', async () => {
      const blog = s.stack.contentType('blog');
      const created = await blog.entry().create({ entry: { title: 'Hello', body: 'in english' } });
      // Not localized yet: French shows the master content.
      const fallback = await blog.entry(created.uid).fetch({ locale: 'fr-fr' });
      assert.equal(fallback.title, 'Hello');
      assert.equal(fallback.locale, 'en-us');

      fallback.title = 'Bonjour';
      fallback.body = 'en français';
      const fr = await fallback.update({ locale: 'fr-fr' });
      assert.equal(fr.locale, 'fr-fr');
      assert.equal(fr._version, 1);
      assert.equal(fr.title, 'Bonjour');

      const en = await blog.entry(created.uid).fetch();
      assert.equal(en.title, 'Hello');
      assert.equal(en._version, 1);
      const fr2 = await blog.entry(created.uid).fetch({ locale: 'fr-fr' });
      assert.equal(fr2.body, 'en français');

      const frList = await blog.entry().query({ locale: 'fr-fr', query: { uid: created.uid } }).find();
      assert.equal(frList.items[0].title, 'Bonjour');
    });

    it('lists with skip, limit, include_count and a simple query', async () => {
      await s.stack.contentType().create({ content_type: { title: 'Note', uid: 'note', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }, { uid: 'n', display_name: 'N', data_type: 'number' }] } });
      const note = s.stack.contentType('note');
      for (let i = 1; i <= 5; i++) await note.entry().create({ entry: { title: `note ${i}`, n: i } });
      const page = await note.entry().query({ skip: 1, limit: 2, include_count: true }).find();
      assert.equal(page.count, 5);
      assert.deepEqual(page.items.map((e: any) => e.title), ['note 2', 'note 3']);
      const filtered = await note.entry().query({ query: { n: { $gte: 4 } }, include_count: true }).find();
      assert.equal(filtered.count, 2);
      assert.deepEqual(filtered.items.map((e: any) => e.n), [4, 5]);
      const byTitle = await note.entry().query({ query: { title: 'note 3' } }).find();
      assert.deepEqual(byTitle.items.map((e: any) => e.n), [3]);
    });

    it('refuses a missing mandatory field, a wrong type and a duplicate unique value', async () => {
      const blog = s.stack.contentType('blog');
      await assert.rejects(blog.entry().create({ entry: { body: 'no title' } }), clientError(422, 'entry.title'));
      await assert.rejects(blog.entry().create({ entry: { title: 'T', views: 'lots' } }), clientError(422, 'entry.views'));
      await blog.entry().create({ entry: { title: 'Only once' } });
      await assert.rejects(blog.entry().create({ entry: { title: 'Only once' } }), clientError(422, 'entry.title'));
    });

    it('accepts a reference to an entry that does not exist yet (importers remap them), refuses one of another content type, and fails to publish while it dangles', async () => {
      const blog = s.stack.contentType('blog');
      const early = await blog.entry().create({ entry: { title: 'Ref', author: [{ uid: 'blt0000000000000000', _content_type_uid: 'author' }] } });
      assert.deepEqual(early.author, [{ uid: 'blt0000000000000000', _content_type_uid: 'author' }]);
      await assert.rejects(early.publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } }), (err: any) => {
        assert.equal(err.status, 422);
        assert.match(err.errorMessage, /entry\.author\[0\] references entry blt0000000000000000 \(author\), which does not exist/);
        return true;
      });
      const other = await blog.entry().create({ entry: { title: 'Not an author' } });
      await assert.rejects(
        blog.entry().create({ entry: { title: 'Ref2', author: [{ uid: other.uid, _content_type_uid: 'author' }] } }),
        clientError(422, 'entry.author[0]'),
      );
    });

    it('publishes to environments x locales and unpublishes, keeping publish_details', async () => {
      const blog = s.stack.contentType('blog');
      const e = await blog.entry().create({ entry: { title: 'Published post' } });
      await e.publish({ publishDetails: { environments: ['development', 'production'], locales: ['en-us', 'fr-fr'] } });
      const en = await blog.entry(e.uid).fetch();
      const envs = await s.stack.environment().query().find();
      const uidOf = (name: string) => envs.items.find((x: any) => x.name === name).uid;
      assert.deepEqual(
        en.publish_details.map((p: any) => `${p.environment}/${p.locale}/v${p.version}`).sort(),
        [`${uidOf('development')}/en-us/v1`, `${uidOf('production')}/en-us/v1`].sort(),
      );
      const fr = await blog.entry(e.uid).fetch({ locale: 'fr-fr' });
      assert.equal(fr.publish_details.length, 2);

      await en.unpublish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });
      const after = await blog.entry(e.uid).fetch();
      assert.deepEqual(after.publish_details.map((p: any) => p.environment), [uidOf('development')]);
    });

    it('publishes an entry whose referenced entry exists but is not published, as Contentstack does', async () => {
      const author = await s.stack.contentType('author').entry().create({ entry: { title: 'Ada' } });
      const post = await s.stack.contentType('blog').entry().create({ entry: { title: 'By Ada', author: [{ uid: author.uid, _content_type_uid: 'author' }] } });
      await post.publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } });
      const fetched = await s.stack.contentType('blog').entry(post.uid).fetch();
      assert.equal(fetched.publish_details.length, 1);
      assert.equal((await s.stack.contentType('author').entry(author.uid).fetch()).publish_details.length, 0, 'the author stays unpublished');
    });

    it('deletes an entry', async () => {
      const blog = s.stack.contentType('blog');
      const e = await blog.entry().create({ entry: { title: 'Doomed' } });
      const res = await blog.entry(e.uid).delete();
      assert.equal(res.notice, 'Entry deleted successfully.');
      await assert.rejects(blog.entry(e.uid).fetch(), clientError(404));
    });
  });

  describe('assets', () => {
    it('uploads, fetches, lists, downloads, updates, replaces, publishes and deletes an asset', async () => {
      const bytes = Buffer.from('hello, herald\n');
      const asset = await s.stack.asset().create({ upload: bytes, filename: 'hello.txt', content_type: 'text/plain', title: 'Greeting', description: 'a file', tags: ['a', 'b'] });
      assert.equal(asset.title, 'Greeting');
      assert.equal(asset.filename, 'hello.txt');
      assert.equal(asset.content_type, 'text/plain');
      assert.equal(asset.file_size, String(bytes.length));
      assert.deepEqual(asset.tags, ['a', 'b']);
      assert.equal(asset._version, 1);

      const fetched = await s.stack.asset(asset.uid).fetch();
      assert.equal(fetched.description, 'a file');
      const list = await s.stack.asset().query({ include_count: true }).find();
      assert.ok(list.items.some((a: any) => a.uid === asset.uid));

      const viaUrl = await fetched.download({ url: fetched.url, responseType: 'arraybuffer' });
      assert.deepEqual(Buffer.from(viaUrl.data), bytes);
      const viaRoute = await fetch(`${h.url}/v3/assets/${asset.uid}/download`, { headers: s.headers });
      assert.equal(viaRoute.status, 200);
      assert.equal(viaRoute.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await viaRoute.arrayBuffer()), bytes);

      fetched.title = 'Greeting 2';
      const updated = await fetched.update();
      assert.equal(updated.title, 'Greeting 2');
      assert.equal(updated._version, 2);

      const replacement = Buffer.from('bye');
      const replaced = await updated.replace({ upload: replacement, filename: 'bye.txt', content_type: 'text/plain' });
      assert.equal(replaced._version, 3);
      assert.equal(replaced.filename, 'bye.txt');
      const got = await fetch(`${h.url}/v3/assets/${asset.uid}/download`, { headers: s.headers });
      assert.equal(await got.text(), 'bye');

      await replaced.publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } });
      const published = await s.stack.asset(asset.uid).fetch();
      assert.equal(published.publish_details.length, 1);
      await published.unpublish({ publishDetails: { environments: ['development'], locales: ['en-us'] } });
      assert.equal((await s.stack.asset(asset.uid).fetch()).publish_details.length, 0);

      // Each version's file stays downloadable: the replaced one too, and after a delete.
      const download = async (version: number) => {
        const r = await fetch(`${h.url}/v3/assets/${asset.uid}/download?version=${version}`, { headers: s.headers });
        return r.status === 200 ? await r.text() : r.status;
      };
      assert.deepEqual([await download(1), await download(2), await download(3), await download(4)], ['hello, herald\n', 'hello, herald\n', 'bye', 404]);
      const bad = await fetch(`${h.url}/v3/assets/${asset.uid}/download?version=first`, { headers: s.headers });
      assert.equal(bad.status, 422);
      assert.match(JSON.stringify(await bad.json()), /version/);
      await s.stack.asset(asset.uid).delete();
      await assert.rejects(s.stack.asset(asset.uid).fetch(), clientError(404));
      assert.equal((await fetch(`${h.url}/v3/assets/${asset.uid}/download`, { headers: s.headers })).status, 404, 'no current file');
      assert.equal((await fetch(fetched.url, { headers: s.headers })).status, 404, 'nothing at its url');
      assert.deepEqual([await download(1), await download(3)], ['hello, herald\n', 'bye']);
      const kept = () => readdirSync(join(h.dataDir, 'assets', s.api_key)).filter((f) => !f.startsWith('.'));
      assert.equal(kept().length, 2);

      // Past the log retention they are pruned, file and all.
      assert.equal(await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, Date.now() + 1), 2);
      assert.deepEqual([await download(1), await download(3)], [404, 404]);
      assert.deepEqual(kept(), []);
    });

    it("answers a 404 naming the version for one whose file retention pruned, never the current file, and serves the files still held", async () => {
      const asset = await s.stack.asset().create({ upload: Buffer.from('one'), filename: 'v.txt', content_type: 'text/plain' });
      const download = async (version: number) => {
        const r = await fetch(`${h.url}/v3/assets/${asset.uid}/download?version=${version}`, { headers: s.headers });
        return r.status === 200 ? await r.text() : [r.status, ((await r.json()) as any).error_message];
      };
      await s.stack.asset(asset.uid).replace({ upload: Buffer.from('two'), filename: 'v.txt', content_type: 'text/plain' });
      assert.ok((await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, Date.now() + 1)) >= 1);
      await s.stack.asset(asset.uid).replace({ upload: Buffer.from('three'), filename: 'v.txt', content_type: 'text/plain' });
      const meta = await s.stack.asset(asset.uid).fetch();
      meta.title = 'same file, version 4';
      await meta.update();
      const [v1, ...held] = [await download(1), await download(2), await download(3), await download(4)];
      assert.equal((v1 as unknown[])[0], 404, 'not the current file');
      assert.match((v1 as string[])[1], new RegExp(`^Version 1 of asset ${asset.uid}: its file is no longer held`));
      assert.deepEqual(held, ['two', 'three', 'three']);
      assert.equal(await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, Date.now() + 1), 1, 'a pruned file is not pruned again');
      assert.deepEqual([(await download(2))[0], await download(4), await download(5)], [404, 'three', [404, `Version 5 of asset ${asset.uid} was not found.`]]);
    });

    it('keeps only the highest of consecutive tombstones, every version answering as before', async () => {
      const asset = await s.stack.asset().create({ upload: Buffer.from('v1'), filename: 't.txt', content_type: 'text/plain' });
      for (const bytes of ['v2', 'v3', 'v4']) await s.stack.asset(asset.uid).replace({ upload: Buffer.from(bytes), filename: 't.txt', content_type: 'text/plain' });
      const rows = async () => (await h.herald.db.all<{ until_version: number; file: string }>('SELECT until_version, file FROM retired_asset_files WHERE uid = ? ORDER BY until_version', [asset.uid])).map((r) => [Number(r.until_version), r.file === '' ? 'tombstone' : 'held']);
      const download = async (version: number) => {
        const r = await fetch(`${h.url}/v3/assets/${asset.uid}/download?version=${version}`, { headers: s.headers });
        return r.status === 200 ? await r.text() : [r.status, ((await r.json()) as any).error_message.replace(/:.*/, '')];
      };
      assert.equal(await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, Date.now() + 1), 3);
      // Versions 1 and 2 fall to version 3's tombstone: the same 404.
      assert.deepEqual(await rows(), [[3, 'tombstone']]);
      assert.deepEqual(
        [await download(1), await download(2), await download(3), await download(4)],
        [[404, `Version 1 of asset ${asset.uid}`], [404, `Version 2 of asset ${asset.uid}`], [404, `Version 3 of asset ${asset.uid}`], 'v4'],
      );
      // A held file between tombstones keeps the one below it.
      await s.stack.asset(asset.uid).replace({ upload: Buffer.from('v5'), filename: 't.txt', content_type: 'text/plain' });
      await s.stack.asset(asset.uid).replace({ upload: Buffer.from('v6'), filename: 't.txt', content_type: 'text/plain' });
      await h.herald.db.run("UPDATE retired_asset_files SET retired_at = 0 WHERE uid = ? AND until_version = 5", [asset.uid]);
      assert.equal(await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, 1), 1);
      assert.deepEqual(await rows(), [[3, 'tombstone'], [4, 'held'], [5, 'tombstone']]);
      assert.deepEqual([await download(3), await download(4), await download(5), await download(6)], [[404, `Version 3 of asset ${asset.uid}`], 'v4', [404, `Version 5 of asset ${asset.uid}`], 'v6']);
    });

    it('streams a large file back byte for byte', async () => {
      const bytes = randomBytes(700 * 1024);
      const asset = await s.stack.asset().create({ upload: bytes, filename: 'große datei.bin', content_type: 'application/octet-stream' });
      assert.equal(asset.file_size, String(bytes.length));
      const res = await fetch(asset.url, { headers: s.headers });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition')!, /^attachment; filename="gro_e datei.bin"; filename\*=UTF-8''gro%C3%9Fe%20datei.bin$/);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    });

    it('lets an entry point at an asset in a file field, also one that does not exist yet, whose publish then fails naming it', async () => {
      await s.stack.contentType().create({ content_type: { title: 'Gallery', uid: 'gallery', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }, { uid: 'picture', display_name: 'P', data_type: 'file' }] } });
      const asset = await s.stack.asset().create({ upload: Buffer.from([1, 2, 3]), filename: 'p.png', content_type: 'image/png' });
      const e = await s.stack.contentType('gallery').entry().create({ entry: { title: 'g', picture: asset.uid } });
      assert.equal(e.picture, asset.uid);
      const early = await s.stack.contentType('gallery').entry().create({ entry: { title: 'g2', picture: 'blt0000000000000000' } });
      assert.equal(early.picture, 'blt0000000000000000');
      await assert.rejects(early.publish({ publishDetails: { environments: ['development'], locales: ['en-us'] } }), (err: any) => {
        assert.match(err.errorMessage, /entry\.picture names asset blt0000000000000000, which does not exist/);
        return true;
      });
    });
  });

  describe("x-herald-uid: the uid of what a create makes (Herald's own header)", () => {
    const upload = async (bytes: string, uid?: string) => {
      const form = new FormData();
      form.append('asset[upload]', new Blob([bytes], { type: 'text/plain' }), 'f.txt');
      const res = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: { ...s.headers, ...(uid ? { 'x-herald-uid': uid } : {}) }, body: form });
      return { status: res.status, body: (await res.json()) as any };
    };
    const download = async (uid: string, version?: number) => {
      const r = await fetch(`${h.url}/v3/assets/${uid}/download${version ? `?version=${version}` : ''}`, { headers: s.headers });
      return r.status === 200 ? await r.text() : r.status;
    };

    it('makes an entry and an asset under the uid asked for, and refuses a bad or taken one naming the header; a uid in the body stays ignored', async () => {
      const make = (uid: string | undefined, entry: Record<string, unknown>) =>
        h.request('POST', '/v3/content_types/author/entries', { body: { entry }, headers: { ...s.headers, ...(uid ? { 'x-herald-uid': uid } : {}) } });
      const made = await make('blt00000000000000aa', { title: 'Chosen' });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.equal(made.body.entry.uid, 'blt00000000000000aa');
      assert.equal((await s.stack.contentType('author').entry('blt00000000000000aa').fetch()).title, 'Chosen');
      const contentfulId = await make('3wtvPBbBjiMKqKKga8I2Cu', { title: 'A Contentful id' });
      assert.equal(contentfulId.body.entry.uid, '3wtvPBbBjiMKqKKga8I2Cu');

      const taken = await make('blt00000000000000aa', { title: 'Again' });
      assert.deepEqual([taken.status, taken.body.errors], [409, { 'x-herald-uid': ['blt00000000000000aa is taken'] }]);
      const bad = await make('no/slashes', { title: 'Bad' });
      assert.deepEqual([bad.status, Object.keys(bad.body.errors)], [422, ['x-herald-uid']]);
      // As Contentstack: a body read from one entry and sent back makes a copy.
      const copy = await make(undefined, { title: 'Copy', uid: 'blt00000000000000aa' });
      assert.equal(copy.status, 201);
      assert.notEqual(copy.body.entry.uid, 'blt00000000000000aa');

      const asset = await upload('chosen', 'blt00000000000000bb');
      assert.deepEqual([asset.status, asset.body.asset?.uid], [201, 'blt00000000000000bb']);
      assert.equal(await download('blt00000000000000bb'), 'chosen');
      const takenAsset = await upload('again', 'blt00000000000000bb');
      assert.deepEqual([takenAsset.status, takenAsset.body.errors], [409, { 'x-herald-uid': ['blt00000000000000bb is taken'] }]);
      assert.equal((await upload('bad', 'x'.repeat(65))).status, 422);
      // Webhooks hear creates.
      const events = await eventsAfter(h, s, 0);
      assert.ok(events.some((e) => e.module === 'asset' && e.action === 'create' && e.uid === 'blt00000000000000bb'));
      assert.ok(events.some((e) => e.module === 'entry' && e.action === 'create' && e.uid === 'blt00000000000000aa'));
    });

    it("makes an asset under a deleted asset's uid that serves its own file for every version, not the deleted one's", async () => {
      const old = await upload('old one');
      const uid = old.body.asset.uid as string;
      const form = new FormData();
      form.append('asset[upload]', new Blob(['old two'], { type: 'text/plain' }), 'f.txt');
      assert.equal((await fetch(`${h.url}/v3/assets/${uid}`, { method: 'PUT', headers: s.headers, body: form })).status, 200);
      await s.stack.asset(uid).delete();
      assert.deepEqual([await download(uid, 1), await download(uid, 2)], ['old one', 'old two']);

      const again = await upload('new one', uid);
      assert.equal(again.status, 201, JSON.stringify(again.body));
      assert.deepEqual([await download(uid), await download(uid, 1), await download(uid, 2)], ['new one', 'new one', 404]);
      const viaUrl = await fetch(again.body.asset.url, { headers: s.headers });
      assert.equal(await viaUrl.text(), 'new one');
      // And its own replaced file is kept by version as any asset's.
      const next = new FormData();
      next.append('asset[upload]', new Blob(['new two'], { type: 'text/plain' }), 'f.txt');
      assert.equal((await fetch(`${h.url}/v3/assets/${uid}`, { method: 'PUT', headers: s.headers, body: next })).status, 200);
      assert.deepEqual([await download(uid, 1), await download(uid, 2)], ['new one', 'new two']);
    });
  });

  describe('branches', () => {
    it('creates a branch as a copy of its source, isolates it, and deletes it', async () => {
      await s.stack.contentType().create({ content_type: { title: 'Page', uid: 'page', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
      const page = await s.stack.contentType('page').entry().create({ entry: { title: 'Home' } });
      const asset = await s.stack.asset().create({ upload: Buffer.from('branch bytes'), filename: 'b.txt', content_type: 'text/plain' });

      const branch = await s.stack.branch().create({ branch: { uid: 'dev', source: 'main' } });
      assert.equal(branch.uid, 'dev');
      assert.equal(branch.source, 'main');
      assert.equal((await s.stack.branch('dev').fetch()).uid, 'dev');
      const all = await s.stack.branch().query().find();
      assert.deepEqual(all.items.map((b: any) => b.uid), ['main', 'dev']);

      const dev = stackOf(h.url, s.api_key, s.token, 'dev');
      const copy = await dev.contentType('page').entry(page.uid).fetch();
      assert.equal(copy.title, 'Home');
      const devAsset = await dev.asset(asset.uid).fetch();
      const bytes = await devAsset.download({ url: devAsset.url, responseType: 'text' });
      assert.equal(bytes.data, 'branch bytes');

      // Changes on dev stay on dev.
      copy.title = 'Home (dev)';
      await copy.update();
      await dev.contentType('page').entry().create({ entry: { title: 'Dev only' } });
      assert.equal((await s.stack.contentType('page').entry(page.uid).fetch()).title, 'Home');
      assert.equal((await s.stack.contentType('page').entry().query().find()).items.length, 1);

      // Deleting main's asset leaves dev's copy of the file.
      await s.stack.asset(asset.uid).delete();
      assert.equal((await devAsset.download({ url: devAsset.url, responseType: 'text' })).data, 'branch bytes');

      await s.stack.branch('dev').delete();
      await assert.rejects(s.stack.branch('dev').fetch(), clientError(404));
      await assert.rejects(dev.contentType('page').entry(page.uid).fetch(), clientError(404));
    });

    it("answers a 404 on a branch for a version whose file was replaced before the copy, and serves the versions that had the copy's file", async () => {
      const asset = await s.stack.asset().create({ upload: Buffer.from('first'), filename: 'f.txt', content_type: 'text/plain' });
      await s.stack.asset(asset.uid).replace({ upload: Buffer.from('second'), filename: 'f.txt', content_type: 'text/plain' });
      const meta = await s.stack.asset(asset.uid).fetch();
      meta.title = 'version 3, the same file';
      await meta.update();
      await s.stack.branch().create({ branch: { uid: 'copy', source: 'main' } });
      const download = async (branch: string, version: number) => {
        const r = await fetch(`${h.url}/v3/assets/${asset.uid}/download?version=${version}`, { headers: { ...s.headers, branch } });
        return r.status === 200 ? await r.text() : [r.status, ((await r.json()) as any).error_message];
      };
      const [v1, ...rest] = [await download('copy', 1), await download('copy', 2), await download('copy', 3)];
      assert.equal((v1 as unknown[])[0], 404, "not the copy's current file");
      assert.match((v1 as string[])[1], /^Version 1 of asset \w+: its file is no longer held .*before branch copy was copied/);
      assert.deepEqual(rest, ['second', 'second']);
      assert.deepEqual([await download('main', 1), await download('main', 2)], ['first', 'second'], 'the source keeps its files');

      // The branch's own replacement is kept as in main; a branch copied from the branch keeps the tombstone.
      const copy = stackOf(h.url, s.api_key, s.token, 'copy');
      await copy.asset(asset.uid).replace({ upload: Buffer.from('third'), filename: 'f.txt', content_type: 'text/plain' });
      assert.deepEqual([(await download('copy', 1))[0], await download('copy', 3), await download('copy', 4)], [404, 'second', 'third']);
      await s.stack.branch().create({ branch: { uid: 'copy2', source: 'copy' } });
      assert.deepEqual([(await download('copy2', 1))[0], (await download('copy2', 3))[0], await download('copy2', 4)], [404, 404, 'third']);
      await s.stack.branch('copy2').delete();
      await s.stack.branch('copy').delete();
      assert.deepEqual([await download('main', 1), await download('main', 3)], ['first', 'second']);
    });

    it('refuses to delete main and to copy a branch that does not exist', async () => {
      await assert.rejects(s.stack.branch('main').delete(), clientError(422));
      await assert.rejects(s.stack.branch().create({ branch: { uid: 'x', source: 'ghost' } }), clientError(422, 'branch.source'));
      await assert.rejects(s.stack.branch().create({ branch: { uid: 'Not Valid', source: 'main' } }), clientError(422, 'branch.uid'));
    });
  });
});

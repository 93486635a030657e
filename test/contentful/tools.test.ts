import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get, globalAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from 'contentful-management';
import { runTool, startHttpsHerald, toolEnv, type HttpsHerald } from '../helpers/https.ts';

/**
 * Contentful's own migration tools against Herald over HTTPS under a host name, as a team moving
 * a project would run them: contentful-export (default options: published content, assets
 * downloaded) from one Herald, contentful-import into an empty space of another, and a
 * contentful-migration script. Each runs in a process of its own that reaches Herald at
 * https://herald.test:<port> and trusts the test certificate.
 */

const TOOL = fileURLToPath(new URL('./helpers/contentful-tool.mjs', import.meta.url));

/**
 * The official client in this process, over HTTPS to 127.0.0.1 (the certificate names it too).
 * It trusts the test certificate through the global agent: the client deep-copies its options,
 * which an agent of its own (sockets) does not survive.
 */
function client(h: HttpsHerald, token: string) {
  globalAgent.options.ca = h.tls.cert;
  const host = `127.0.0.1:${new URL(h.url).port}`;
  return createClient({ accessToken: token, host, hostUpload: host, retryOnError: false } as Parameters<typeof createClient>[0], { type: 'plain' });
}
type Client = ReturnType<typeof client>;

function bytesAt(url: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url.replace(/^\/\//, 'https://'), { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

const link = (linkType: string, id: string) => ({ sys: { type: 'Link', linkType, id } });
/** A content type's fields as the tools compare them. */
const shape = (fields: any[]) => fields.map((f) => ({ id: f.id, name: f.name, type: f.type, localized: f.localized, required: f.required, linkType: f.linkType, items: f.items, validations: f.validations }));

describe("Contentful's migration tools", () => {
  let source: HttpsHerald;
  let target: HttpsHerald;
  before(async () => {
    [source, target] = await Promise.all([startHttpsHerald(), startHttpsHerald()]);
  });
  after(async () => {
    await Promise.all([source.close(), target.close()]);
  });

  it('moves a space with contentful-export and contentful-import: content model, entries in every locale, assets with their bytes, locales, tags, webhooks, publish state', async () => {
    const from = await source.newStack('Source space');
    const to = await target.newStack('Empty space');
    const src = client(source, from.token);
    const env = { spaceId: from.api_key, environmentId: 'master' };

    await src.locale.create(env, { name: 'German', code: 'de-DE', fallbackCode: 'en-US', optional: true } as any);
    const author = await src.contentType.createWithId({ ...env, contentTypeId: 'author' }, {
      name: 'Author',
      displayField: 'name',
      fields: [
        { id: 'name', name: 'Name', type: 'Symbol', required: true, localized: false },
        { id: 'bio', name: 'Bio', type: 'Text', localized: true },
      ],
    } as any);
    await src.contentType.publish({ ...env, contentTypeId: 'author' }, author);
    const post = await src.contentType.createWithId({ ...env, contentTypeId: 'post' }, {
      name: 'Post',
      displayField: 'title',
      description: 'A blog post',
      fields: [
        { id: 'title', name: 'Title', type: 'Symbol', required: true, localized: true },
        { id: 'body', name: 'Body', type: 'Text', localized: true },
        { id: 'views', name: 'Views', type: 'Integer', localized: false },
        { id: 'author', name: 'Author', type: 'Link', linkType: 'Entry', localized: false, validations: [{ linkContentType: ['author'] }] },
        { id: 'hero', name: 'Hero image', type: 'Link', linkType: 'Asset', localized: false },
        { id: 'attachments', name: 'Attachments', type: 'Array', localized: false, items: { type: 'Link', linkType: 'Asset', validations: [] } },
        { id: 'labels', name: 'Labels', type: 'Array', localized: false, items: { type: 'Symbol', validations: [] } },
      ],
    } as any);
    await src.contentType.publish({ ...env, contentTypeId: 'post' }, post);
    const ei = await src.editorInterface.get({ ...env, contentTypeId: 'post' });
    await src.editorInterface.update({ ...env, contentTypeId: 'post' }, { ...ei, controls: ei.controls!.map((c: any) => (c.fieldId === 'body' ? { ...c, widgetId: 'multipleLine' } : c)) });
    await src.tag.createWithId({ ...env, tagId: 'featured' }, { name: 'Featured', sys: { visibility: 'public' } } as any);

    const files: Record<string, Buffer> = { 'hero.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 255, 0, 7]), 'guide.pdf': Buffer.from('%PDF-1.4\nA guide to Herald\n%%EOF\n') };
    const assetIds: string[] = [];
    for (const [name, bytes] of Object.entries(files)) {
      const up = await src.upload.create({ spaceId: from.api_key }, { file: bytes } as any);
      let a = await src.asset.create(env, {
        fields: { title: { 'en-US': name.split('.')[0] }, description: { 'en-US': `The ${name}` }, file: { 'en-US': { fileName: name, contentType: name.endsWith('.png') ? 'image/png' : 'application/pdf', uploadFrom: link('Upload', up.sys.id) } } },
      } as any);
      a = await src.asset.publish({ ...env, assetId: a.sys.id }, a);
      assetIds.push(a.sys.id);
    }
    const publish = async (contentTypeId: string, fields: Record<string, unknown>, tags: string[] = []) => {
      const e = await src.entry.create({ ...env, contentTypeId }, { fields, metadata: { tags: tags.map((t) => link('Tag', t)) } } as any);
      return src.entry.publish({ ...env, entryId: e.sys.id }, e);
    };
    const ada = await publish('author', { name: { 'en-US': 'Ada' }, bio: { 'en-US': 'Writes about engines', 'de-DE': 'Schreibt über Maschinen' } });
    const alan = await publish('author', { name: { 'en-US': 'Alan' }, bio: { 'en-US': 'Writes about machines', 'de-DE': 'Schreibt über Rechner' } });
    await publish(
      'post',
      {
        title: { 'en-US': 'Hello', 'de-DE': 'Hallo' },
        body: { 'en-US': 'First post', 'de-DE': 'Erster Beitrag' },
        views: { 'en-US': 42 },
        author: { 'en-US': link('Entry', ada.sys.id) },
        hero: { 'en-US': link('Asset', assetIds[0]) },
        attachments: { 'en-US': [link('Asset', assetIds[1]), link('Asset', assetIds[0])] },
        labels: { 'en-US': ['news', 'herald'] },
      },
      ['featured'],
    );
    await publish('post', { title: { 'en-US': 'Second', 'de-DE': 'Zweiter' }, author: { 'en-US': link('Entry', alan.sys.id) }, labels: { 'en-US': [] } });
    await src.webhook.create({ spaceId: from.api_key }, { name: 'Rebuild site', url: 'https://build.example.com/hook', topics: ['Entry.publish', 'Entry.unpublish'] } as any);
    await src.webhook.create({ spaceId: from.api_key }, { name: 'Search index', url: 'https://search.example.com/ingest', topics: ['*.*'], filters: [{ equals: [{ doc: 'sys.environment.sys.id' }, 'master'] }] } as any);

    // Export with the tool's defaults (published content only, assets downloaded), then import.
    const dir = mkdtempSync(join(tmpdir(), 'contentful-move-'));
    const exported = await runTool(process.execPath, [TOOL, 'export', JSON.stringify({ spaceId: from.api_key, managementToken: from.token, host: source.hostPort, exportDir: dir, contentFile: 'export.json', downloadAssets: true })], { env: toolEnv(), cwd: dir });
    assert.equal(exported.code, 0, `${exported.stdout}\n${exported.stderr}`);
    assert.doesNotMatch(exported.stdout + exported.stderr, /\d+ errors? and \d+ warnings?|✖/, 'the export logs no error or warning');
    const data = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8'));
    assert.deepEqual(
      Object.fromEntries(['contentTypes', 'editorInterfaces', 'entries', 'assets', 'locales', 'webhooks', 'roles', 'tags'].map((k) => [k, data[k].length])),
      { contentTypes: 2, editorInterfaces: 2, entries: 4, assets: 2, locales: 2, webhooks: 2, roles: 0, tags: 1 },
    );
    for (const a of data.assets) {
      const url = new URL(`https:${a.fields.file['en-US'].url.replace(/^https:/, '')}`);
      assert.deepEqual(readFileSync(join(dir, url.host, decodeURIComponent(url.pathname))), files[a.fields.file['en-US'].fileName], 'downloaded with its bytes');
    }

    const imported = await runTool(
      process.execPath,
      [TOOL, 'import', JSON.stringify({ spaceId: to.api_key, managementToken: to.token, host: target.hostPort, hostUpload: target.hostPort, contentFile: join(dir, 'export.json'), uploadAssets: true, assetsDirectory: dir, errorLogFile: join(dir, 'import-errors.json') })],
      { env: toolEnv(), cwd: dir },
    );
    assert.equal(imported.code, 0, `${imported.stdout}\n${imported.stderr}`);
    assert.doesNotMatch(imported.stdout + imported.stderr, /\d+ errors? and \d+ warnings?|✖/, 'the import logs no error or warning');

    // Everything is there, the same.
    const dst = client(target, to.token);
    const denv = { spaceId: to.api_key, environmentId: 'master' };
    const byId = <T extends { sys: { id: string } }>(items: T[]) => Object.fromEntries(items.map((x) => [x.sys.id, x]));

    const types = byId((await dst.contentType.getMany({ ...denv, query: {} })).items);
    for (const ct of (await src.contentType.getMany({ ...env, query: {} })).items) {
      assert.ok(types[ct.sys.id], `content type ${ct.sys.id}`);
      assert.equal(types[ct.sys.id].name, ct.name);
      assert.equal(types[ct.sys.id].displayField, ct.displayField);
      assert.deepEqual(shape(types[ct.sys.id].fields), shape(ct.fields));
      assert.ok(types[ct.sys.id].sys.publishedVersion, `content type ${ct.sys.id} is published`);
    }
    assert.equal((await dst.editorInterface.get({ ...denv, contentTypeId: 'post' })).controls!.find((c: any) => c.fieldId === 'body')!.widgetId, 'multipleLine');

    const locales = (await dst.locale.getMany({ ...denv, query: {} })).items.map((l: any) => [l.code, l.name, l.fallbackCode, l.default]);
    assert.deepEqual(locales, (await src.locale.getMany({ ...env, query: {} })).items.map((l: any) => [l.code, l.name, l.fallbackCode, l.default]));

    const entries = byId((await dst.entry.getMany({ ...denv, query: { limit: 1000 } })).items);
    const sourceEntries = (await src.entry.getMany({ ...env, query: { limit: 1000 } })).items;
    assert.equal(Object.keys(entries).length, sourceEntries.length);
    for (const e of sourceEntries) {
      const got = entries[e.sys.id];
      assert.ok(got, `entry ${e.sys.id}`);
      assert.equal(got.sys.contentType.sys.id, e.sys.contentType.sys.id);
      assert.deepEqual(got.fields, e.fields, 'every field in every locale');
      assert.deepEqual(got.metadata?.tags, e.metadata?.tags);
      assert.ok(got.sys.publishedVersion, `entry ${e.sys.id} is published`);
      assert.equal(got.sys.version, got.sys.publishedVersion + 1, 'and unchanged since');
    }

    const assets = byId((await dst.asset.getMany({ ...denv, query: {} })).items);
    assert.deepEqual(Object.keys(assets).sort(), [...assetIds].sort());
    for (const id of assetIds) {
      const a = assets[id];
      const file = a.fields.file['en-US'];
      assert.equal(a.fields.description!['en-US'], `The ${file.fileName}`);
      assert.deepEqual(await bytesAt(file.url!, target.tls.cert), files[file.fileName!], `asset ${file.fileName} has the same bytes`);
      assert.ok(a.sys.publishedVersion, `asset ${id} is published`);
    }

    const tags = (await dst.tag.getMany({ ...denv, query: {} })).items.map((t: any) => [t.sys.id, t.name, t.sys.visibility]);
    assert.deepEqual(tags, [['featured', 'Featured', 'public']]);

    const hooks = (await dst.webhook.getMany({ spaceId: to.api_key })).items.map((w: any) => [w.name, w.url, w.topics, w.filters]);
    const sourceHooks = (await src.webhook.getMany({ spaceId: from.api_key })).items.map((w: any) => [w.name, w.url, w.topics, w.filters]);
    assert.deepEqual(hooks.sort(), sourceHooks.sort());
  });

  it('runs a contentful-migration script that creates a content type, edits fields and transforms entries', async () => {
    const space = await source.newStack('Migrated space');
    const c = client(source, space.token);
    const where = { spaceId: space.api_key, environmentId: 'master' };
    await c.locale.create(where, { name: 'German', code: 'de-DE', fallbackCode: 'en-US' } as any);
    const post = await c.contentType.createWithId({ ...where, contentTypeId: 'post' }, {
      name: 'Post',
      displayField: 'title',
      fields: [
        { id: 'title', name: 'Title', type: 'Symbol', required: true, localized: true },
        { id: 'summary', name: 'Summary', type: 'Text', localized: true },
      ],
    } as any);
    await c.contentType.publish({ ...where, contentTypeId: 'post' }, post);
    const published = await c.entry.create({ ...where, contentTypeId: 'post' }, { fields: { title: { 'en-US': 'Hello World', 'de-DE': 'Hallo Welt' }, summary: { 'en-US': 'News' } } } as any);
    await c.entry.publish({ ...where, entryId: published.sys.id }, published);
    const draft = await c.entry.create({ ...where, contentTypeId: 'post' }, { fields: { title: { 'en-US': 'Draft Post' } } } as any);

    const dir = mkdtempSync(join(tmpdir(), 'contentful-migration-'));
    const script = join(dir, 'migration.cjs');
    writeFileSync(
      script,
      `module.exports = function (migration) {
  const category = migration.createContentType('category').name('Category').displayField('title').description('Groups posts');
  category.createField('title').name('Title').type('Symbol').required(true);
  category.createField('position').name('Position').type('Integer');

  const post = migration.editContentType('post');
  post.editField('title').name('Headline');
  post.createField('slug').name('Slug').type('Symbol').localized(true);
  // Not localized: deriveLinkedEntries below still writes the link in every locale; the other locales' values are left out, as Contentful omits them.
  post.createField('category').name('Category').type('Link').linkType('Entry').validations([{ linkContentType: ['category'] }]);
  post.moveField('slug').afterField('title');
  post.changeFieldControl('slug', 'builtin', 'slugEditor');

  migration.transformEntries({
    contentType: 'post',
    from: ['title'],
    to: ['slug'],
    transformEntryForLocale: (from, locale) => (from.title && from.title[locale] ? { slug: from.title[locale].toLowerCase().replace(/[^a-z0-9]+/g, '-') } : undefined),
  });

  // Entries of the content type made above: the tool activates it first (Contentful refuses entries on drafts).
  migration.deriveLinkedEntries({
    contentType: 'post',
    derivedContentType: 'category',
    from: ['summary'],
    toReferenceField: 'category',
    derivedFields: ['title'],
    identityKey: async (from) => (from.summary ? from.summary['en-US'].toLowerCase() : 'none'),
    deriveEntryForLocale: async (from, locale) => (from.summary && locale === 'en-US' ? { title: from.summary[locale] } : undefined),
  });
};
`,
    );
    const run = await runTool(process.execPath, [TOOL, 'migration', JSON.stringify({ filePath: script, spaceId: space.api_key, environmentId: 'master', accessToken: space.token, host: source.hostPort, yes: true })], {
      env: toolEnv(),
      cwd: dir,
    });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /Migration successful/);

    const category = await c.contentType.get({ ...where, contentTypeId: 'category' });
    assert.equal(category.name, 'Category');
    assert.deepEqual(category.fields.map((f: any) => [f.id, f.type, f.required]), [['title', 'Symbol', true], ['position', 'Integer', false]]);
    assert.ok(category.sys.publishedVersion, 'the tool publishes what it creates');
    const edited = await c.contentType.get({ ...where, contentTypeId: 'post' });
    assert.deepEqual(edited.fields.map((f: any) => [f.id, f.name]), [['title', 'Headline'], ['slug', 'Slug'], ['summary', 'Summary'], ['category', 'Category']]);
    assert.equal((await c.editorInterface.get({ ...where, contentTypeId: 'post' })).controls!.find((x: any) => x.fieldId === 'slug')!.widgetId, 'slugEditor');

    const after1 = await c.entry.get({ ...where, entryId: published.sys.id });
    assert.deepEqual(after1.fields.slug, { 'en-US': 'hello-world', 'de-DE': 'hallo-welt' });
    assert.equal(after1.sys.version, after1.sys.publishedVersion! + 1, 'a published entry is published again with its change');
    const after2 = await c.entry.get({ ...where, entryId: draft.sys.id });
    assert.deepEqual(after2.fields.slug, { 'en-US': 'draft-post' });
    assert.equal(after2.sys.publishedVersion, undefined, 'a draft stays a draft');
    // A category entry derived from the published post's summary, linked from it, published as its source is.
    const news = await c.entry.get({ ...where, entryId: 'news' });
    assert.deepEqual([news.sys.contentType.sys.id, news.fields.title], ['category', { 'en-US': 'News' }]);
    assert.ok(news.sys.publishedVersion, 'derived from a published entry: published');
    assert.deepEqual(Object.keys(after1.fields.category), ['en-US'], 'a field that is not localized: its other locales left out');
    assert.equal(after1.fields.category['en-US'].sys.id, 'news');
    assert.equal(after2.fields.category, undefined, 'the draft has no summary: nothing derived');
  });
});

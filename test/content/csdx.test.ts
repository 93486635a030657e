import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch, FormData as UndiciFormData } from 'undici';
import { runTool, startHttpsHerald, toolEnv, type HttpsHerald } from '../helpers/https.ts';

/**
 * Acceptance 1 of #16: Contentstack's CLI (`csdx`, @contentstack/cli) moves a stack out of Herald
 * and into an empty one, as a team moving a project would run it: `cm:stacks:export` then
 * `cm:stacks:import`, each a process of its own reaching Herald at https://herald.test:<port>.
 *
 * The source: a global field, three content types (one embedding the global field; one with
 * references to several content types, a file field and a group), 20 entries in two locales with
 * references (a cycle among the articles) and file fields, published to two environments (some
 * not, or only partly), five assets, two environments, two locales, two webhooks (one with a basic
 * auth password and a secret header).
 */

const CSDX = join(process.cwd(), 'node_modules/.bin/csdx');
const TOOL_TIMEOUT_MS = 8 * 60_000;

/** What a tool printed that reads as a problem: csdx prints errors and failures with these words. */
const PROBLEM = /\b(error|errors|failed|fail|failure|unable|cannot|could not|not found|invalid)\b/i;

function problems(text: string): string[] {
  return text.split('\n').filter((l) => PROBLEM.test(l));
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('csdx cm:stacks:export and cm:stacks:import through Herald', { timeout: 20 * 60_000 }, () => {
  let h: HttpsHerald;
  let agent: Agent;
  before(async () => {
    h = await startHttpsHerald();
    agent = new Agent({ connect: { ca: h.tls.cert } });
  });
  after(async () => {
    await agent?.close();
    await h?.close();
  });

  it('moves a whole stack: content types and a global field, entries in every locale with references remapped, assets with their bytes, environments, locales, webhooks, publish state', async (t) => {
    const from = await h.newStack('Source stack');
    const to = await h.newStack('Empty stack');
    const call = (stack: { api_key: string; token: string }) => async (method: string, path: string, body?: unknown) => {
      const r = await h.request(method, path, { headers: { api_key: stack.api_key, authorization: stack.token }, body });
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const src = call(from);
    const dst = call(to);

    // ---- the source stack ----
    await src('POST', '/v3/locales', { locale: { code: 'fr-fr', name: 'French', fallback_locale: 'en-us' } });
    await src('POST', '/v3/environments', { environment: { name: 'development', urls: [{ locale: 'en-us', url: 'https://dev.example.com' }] } });
    await src('POST', '/v3/environments', { environment: { name: 'production', urls: [{ locale: 'en-us', url: 'https://www.example.com' }] } });

    const assets: Array<{ uid: string; filename: string; bytes: Buffer }> = [];
    for (let i = 0; i < 5; i++) {
      const bytes = Buffer.from(Array.from({ length: 2048 + i * 977 }, (_, j) => (j * (i + 7) + i) % 256));
      const form = new UndiciFormData();
      form.append('asset[upload]', new Blob([bytes], { type: i % 2 ? 'image/png' : 'application/octet-stream' }), `file-${i}.${i % 2 ? 'png' : 'bin'}`);
      form.append('asset[title]', `Asset ${i}`);
      const r = await undiciFetch(`${h.url}/v3/assets`, { method: 'POST', headers: { api_key: from.api_key, authorization: from.token }, body: form, dispatcher: agent });
      assert.equal(r.status, 201, await r.clone().text());
      const a = ((await r.json()) as any).asset;
      assets.push({ uid: a.uid, filename: a.filename, bytes });
      await src('POST', `/v3/assets/${a.uid}/publish`, { asset: { environments: ['development', 'production'], locales: ['en-us'] } });
    }

    await src('POST', '/v3/global_fields', {
      global_field: {
        title: 'SEO',
        uid: 'seo',
        schema: [
          { uid: 'meta_title', display_name: 'Meta title', data_type: 'text' },
          { uid: 'meta_description', display_name: 'Meta description', data_type: 'text' },
        ],
      },
    });
    await src('POST', '/v3/content_types', {
      content_type: {
        title: 'Author',
        uid: 'author',
        schema: [
          { uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true, unique: true },
          { uid: 'photo', display_name: 'Photo', data_type: 'file' },
          { uid: 'seo', display_name: 'SEO', data_type: 'global_field', reference_to: 'seo' },
        ],
      },
    });
    await src('POST', '/v3/content_types', {
      content_type: { title: 'Category', uid: 'category', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'summary', display_name: 'Summary', data_type: 'text' }] },
    });
    await src('POST', '/v3/content_types', {
      content_type: {
        title: 'Article',
        uid: 'article',
        schema: [
          { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
          { uid: 'body', display_name: 'Body', data_type: 'text', field_metadata: { multiline: true } },
          { uid: 'hero', display_name: 'Hero', data_type: 'file' },
          { uid: 'related', display_name: 'Related', data_type: 'reference', reference_to: ['author', 'category', 'article'], multiple: true },
          {
            uid: 'details',
            display_name: 'Details',
            data_type: 'group',
            schema: [
              { uid: 'subtitle', display_name: 'Subtitle', data_type: 'text' },
              { uid: 'attachment', display_name: 'Attachment', data_type: 'file' },
            ],
          },
        ],
      },
    });

    type Made = { ct: string; uid: string; en: Record<string, unknown>; fr: Record<string, unknown> };
    const made: Made[] = [];
    const create = async (ct: string, en: Record<string, unknown>, fr: Record<string, unknown>) => {
      const e = (await src('POST', `/v3/content_types/${ct}/entries`, { entry: en })).entry;
      await src('PUT', `/v3/content_types/${ct}/entries/${e.uid}?locale=fr-fr`, { entry: fr });
      const m = { ct, uid: e.uid as string, en, fr };
      made.push(m);
      return m;
    };
    const authors: Made[] = [];
    const categories: Made[] = [];
    const articles: Made[] = [];
    for (let i = 0; i < 5; i++) {
      authors.push(await create('author', { title: `Author ${i}`, photo: assets[i]!.uid, seo: { meta_title: `About author ${i}` } }, { title: `Auteur ${i}`, photo: assets[i]!.uid, seo: { meta_title: `À propos ${i}` } }));
      categories.push(await create('category', { title: `Category ${i}`, summary: `All about ${i}` }, { title: `Catégorie ${i}`, summary: `Tout sur ${i}` }));
    }
    // Articles first without related (their targets do not all exist yet), then the references: a cycle 0 -> 1 -> ... -> 9 -> 0.
    for (let i = 0; i < 10; i++) {
      const details = { subtitle: `Part ${i}`, attachment: assets[(i + 1) % 5]!.uid };
      articles.push(await create('article', { title: `Article ${i}`, body: `Text ${i}`, hero: assets[i % 5]!.uid, details }, { title: `Article ${i} (fr)`, body: `Texte ${i}`, hero: assets[i % 5]!.uid, details }));
    }
    for (let i = 0; i < 10; i++) {
      const related = [
        { uid: authors[i % 5]!.uid, _content_type_uid: 'author' },
        { uid: categories[i % 5]!.uid, _content_type_uid: 'category' },
        { uid: articles[(i + 1) % 10]!.uid, _content_type_uid: 'article' },
      ];
      for (const locale of ['en-us', 'fr-fr']) await src('PUT', `/v3/content_types/article/entries/${articles[i]!.uid}?locale=${locale}`, { entry: { related } });
      articles[i]!.en.related = related;
      articles[i]!.fr.related = related;
    }
    // Publish state: everything to both environments in both locales, but for two drafts and one
    // category published to development in en-us only.
    const drafts = new Set([articles[8]!.uid, articles[9]!.uid]);
    const partly = categories[4]!.uid;
    for (const m of made) {
      if (drafts.has(m.uid)) continue;
      const target = m.uid === partly ? { environments: ['development'], locales: ['en-us'] } : { environments: ['development', 'production'], locales: ['en-us', 'fr-fr'] };
      await src('POST', `/v3/content_types/${m.ct}/entries/${m.uid}/publish`, { entry: target });
    }
    await src('POST', '/v3/webhooks', {
      webhook: { name: 'Rebuild site', destinations: [{ target_url: 'https://build.example.com/hook' }], channels: ['content_types.entries.publish', 'assets.publish'], concise_payload: true },
    });
    await src('POST', '/v3/webhooks', {
      webhook: {
        name: 'Search index',
        destinations: [{ target_url: 'https://search.example.com/index', http_basic_auth: 'indexer', http_basic_password: 'the-password', custom_header: [{ header_name: 'X-Api-Key', value: 'secret-key-123', secret: true }, { header_name: 'X-Site', value: 'blog' }] }],
        channels: ['content_types.article.entries.update'],
      },
    });

    // ---- csdx: region, tokens, no update check (it asks npm, which is not there to ask) ----
    // The tools' HOME holds their config (the management tokens): removed when the test ends.
    const home = mkdtempSync(join(tmpdir(), 'herald-csdx-home-'));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const env = toolEnv({ home });
    const csdx = (args: string[]) => runTool(CSDX, args, { env, cwd: home, timeoutMs: TOOL_TIMEOUT_MS });
    const version = JSON.parse(readFileSync(join(process.cwd(), 'node_modules/@contentstack/cli/package.json'), 'utf8')).version as string;
    // The prerun hook asks registry.npmjs.org for the latest version once every versionSyncDuration
    // (3 days) and logs "Failed to check the latest version" when it cannot: a cache checked now,
    // naming this version, is what it writes after a successful check.
    const primed = await runTool(process.execPath, ['-e', `require('@contentstack/cli-utilities').configHandler.set('versionUpgradeWarningCache', { lastChecked: Date.now(), latestVersion: ${JSON.stringify(version)}, lastWarnedDate: '' })`], { env, cwd: process.cwd() });
    assert.equal(primed.code, 0, primed.stderr);
    for (const args of [
      ['config:set:region', '--cma', h.origin, '--cda', h.origin, '--ui-host', h.origin, '--name', 'Herald'],
      ['auth:tokens:add', '--alias', 'source', '--management', '--stack-api-key', from.api_key, '--token', from.token, '--yes'],
      ['auth:tokens:add', '--alias', 'target', '--management', '--stack-api-key', to.api_key, '--token', to.token, '--yes'],
    ]) {
      const r = await csdx(args);
      assert.equal(r.code, 0, `csdx ${args[0]}: ${r.stdout}\n${r.stderr}`);
      assert.deepEqual(problems(r.stdout + r.stderr), [], `csdx ${args[0]}`);
    }

    // ---- export ----
    const dir = join(home, 'export');
    const exported = await csdx(['cm:stacks:export', '--alias', 'source', '--data-dir', dir, '--yes']);
    const exportLog = exported.stdout + exported.stderr;
    assert.equal(exported.code, 0, exportLog);
    assert.deepEqual(problems(exportLog), [], `export:\n${exportLog}`);
    assert.match(exportLog, /exported successfully/);
    for (const f of filesUnder(join(home, '.config')).concat(filesUnder(dir)).filter((f) => /error/i.test(f))) {
      assert.equal(readFileSync(f, 'utf8').trim(), '', `${f} is empty`);
    }
    const data = existsSync(join(dir, 'main')) ? join(dir, 'main') : dir;

    // ---- import into the empty stack ----
    const imported = await csdx(['cm:stacks:import', '--alias', 'target', '--data-dir', data, '--yes']);
    const importLog = imported.stdout + imported.stderr;
    assert.equal(imported.code, 0, importLog);
    assert.deepEqual(problems(importLog), [], `import:\n${importLog}`);
    assert.match(importLog, /imported successfully|import.*completed successfully/i);

    // ---- what arrived ----
    const list = async (path: string, key: string) => (await dst('GET', path))[key] as any[];
    assert.deepEqual((await list('/v3/locales', 'locales')).map((l) => [l.code, l.fallback_locale]).sort(), [['en-us', null], ['fr-fr', 'en-us']].sort());
    assert.deepEqual((await list('/v3/environments', 'environments')).map((e) => [e.name, e.urls]).sort(), [
      ['development', [{ locale: 'en-us', url: 'https://dev.example.com' }]],
      ['production', [{ locale: 'en-us', url: 'https://www.example.com' }]],
    ]);
    const gfs = await list('/v3/global_fields', 'global_fields');
    assert.deepEqual(gfs.map((g) => [g.uid, g.schema.map((f: any) => f.uid)]), [['seo', ['meta_title', 'meta_description']]]);
    const cts = await list('/v3/content_types', 'content_types');
    const shapeOf = (fields: any[]): unknown => fields.map((f) => ({ uid: f.uid, data_type: f.data_type, mandatory: f.mandatory, multiple: f.multiple, reference_to: f.reference_to, schema: f.schema && shapeOf(f.schema) }));
    const srcCts = await (async () => (await src('GET', '/v3/content_types'))['content_types'] as any[])();
    assert.deepEqual(cts.map((c) => c.uid).sort(), ['article', 'author', 'category']);
    for (const ct of srcCts) assert.deepEqual(shapeOf(cts.find((c) => c.uid === ct.uid).schema), shapeOf(ct.schema), `content type ${ct.uid}`);

    // Assets: same titles, names and bytes (downloaded from the url the management API gives).
    const newAssets = await list('/v3/assets', 'assets');
    assert.equal(newAssets.length, 5);
    const assetMap = new Map<string, string>(); // source uid -> target uid
    for (const a of assets) {
      const got = newAssets.find((n) => n.filename === a.filename);
      assert.ok(got, `asset ${a.filename} arrived`);
      const bytes = Buffer.from(await (await undiciFetch(got.url.replace(h.origin, h.url), { dispatcher: agent })).arrayBuffer());
      assert.equal(sha(bytes), sha(a.bytes), `${a.filename}: same bytes`);
      assetMap.set(a.uid, got.uid);
    }

    // Entries: every locale's values, references and file fields remapped to the new uids.
    const entryMap = new Map<string, string>(); // source uid -> target uid
    const byTitle = new Map<string, any>();
    for (const ct of ['author', 'category', 'article']) {
      for (const e of await list(`/v3/content_types/${ct}/entries`, 'entries')) byTitle.set(`${ct}/${e.title}`, e);
    }
    for (const m of made) {
      const e = byTitle.get(`${m.ct}/${m.en.title}`);
      assert.ok(e, `${m.ct} ${m.en.title} arrived`);
      entryMap.set(m.uid, e.uid);
    }
    assert.equal(byTitle.size, 20);
    const remapRef = (r: any) => ({ uid: entryMap.get(r.uid), _content_type_uid: r._content_type_uid });
    for (const m of made) {
      const uid = entryMap.get(m.uid)!;
      for (const [locale, values] of [['en-us', m.en], ['fr-fr', m.fr]] as const) {
        const e = (await dst('GET', `/v3/content_types/${m.ct}/entries/${uid}?locale=${locale}`)).entry;
        assert.equal(e.locale, locale, `${m.ct} ${m.en.title} is localized in ${locale}`);
        assert.equal(e.title, values.title);
        if (m.ct === 'author') {
          assert.equal(e.photo.uid, assetMap.get(values.photo as string), 'file field remapped');
          assert.deepEqual(e.seo, values.seo, 'global field values');
        }
        if (m.ct === 'category') assert.equal(e.summary, values.summary);
        if (m.ct === 'article') {
          assert.equal(e.body, values.body);
          assert.equal(e.hero.uid, assetMap.get(values.hero as string));
          assert.equal(e.details.subtitle, (values.details as any).subtitle);
          assert.equal(e.details.attachment.uid, assetMap.get((values.details as any).attachment));
          assert.deepEqual(e.related, (values.related as any[]).map(remapRef), 'references remapped (the cycle included)');
        }
      }
    }

    // Publish state: what was published is published again, where it was.
    const envUid = new Map((await list('/v3/environments', 'environments')).map((e) => [e.uid, e.name]));
    for (const m of made) {
      const uid = entryMap.get(m.uid)!;
      const published = new Set<string>();
      for (const locale of ['en-us', 'fr-fr']) {
        const e = (await dst('GET', `/v3/content_types/${m.ct}/entries/${uid}?locale=${locale}`)).entry;
        for (const p of e.publish_details ?? []) if (p.locale === locale) published.add(`${envUid.get(p.environment) ?? p.environment}/${p.locale}`);
      }
      const expected = drafts.has(m.uid) ? [] : m.uid === partly ? ['development/en-us'] : ['development/en-us', 'development/fr-fr', 'production/en-us', 'production/fr-fr'];
      assert.deepEqual([...published].sort(), expected, `publish state of ${m.ct} ${m.en.title}`);
    }

    // Webhooks: both, disabled (csdx imports them so, unless --import-webhook-status current).
    const hooks = await list('/v3/webhooks', 'webhooks');
    assert.deepEqual(hooks.map((w) => w.name).sort(), ['Rebuild site', 'Search index']);
    for (const w of hooks) assert.equal(w.disabled, true);
    const rebuild = hooks.find((w) => w.name === 'Rebuild site');
    assert.deepEqual(rebuild.channels.sort(), ['assets.publish', 'content_types.entries.publish']);
    assert.equal(rebuild.destinations[0].target_url, 'https://build.example.com/hook');
    assert.equal(rebuild.concise_payload, true);
    assert.equal(rebuild.missing_secrets, undefined);
    // The secrets were exported as masks (a GET never shows them): never stored as the secrets, the
    // webhook names what it needs, and cannot be enabled until they are sent.
    const search = hooks.find((w) => w.name === 'Search index');
    assert.deepEqual(search.channels, ['content_types.article.entries.update']);
    assert.equal(search.destinations[0].target_url, 'https://search.example.com/index');
    assert.equal(search.destinations[0].http_basic_auth, 'indexer');
    assert.equal(search.destinations[0].http_basic_password, '');
    assert.deepEqual(search.destinations[0].custom_header, [{ header_name: 'X-Api-Key', value: '', secret: true }, { header_name: 'X-Site', value: 'blog' }]);
    assert.deepEqual(search.missing_secrets, ['destinations.0.http_basic_password', 'destinations.0.custom_header.0.value']);
    assert.match(search.disabled_reason, /needs destinations\.0\.http_basic_password, destinations\.0\.custom_header\.0\.value/);
    const enable = await h.request('POST', `/v3/webhooks/${search.uid}/enable`, { headers: { api_key: to.api_key, authorization: to.token } });
    assert.equal(enable.status, 422);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { runRestore, runRestoreHere, spawnBackup, testSecret, until, type SpawnedBackup } from './helpers/backup.ts';
import { contentOf, stackApi, type StackApi } from './helpers/content.ts';

/**
 * Acceptance 1: Herald and the backup center run as separate processes; a script makes content,
 * publishes, edits and deletes some; the backup holds every version; restores bring deleted
 * entries and assets back with the same fields and bytes; a whole stack is reproduced in an
 * empty one.
 *
 * The restores that check the command itself (exit code, output, the token from the environment)
 * run `herald restore` as a process; the others run the same command's restore in this process
 * (runRestoreHere): each process start cost 1.5-5 s on a loaded machine, most of this file's time.
 */
const POST_FIELDS = ['title', 'body', 'author', 'cover', 'meta'];

describe('the backup center end to end', () => {
  const secret = testSecret(3);
  let h: SpawnedHerald;
  let b: SpawnedBackup;
  let stack: { api_key: string; token: string };
  let api: StackApi;
  /** What Herald answered for each saved version, by entry uid, line and _version. */
  const saved = new Map<string, any>();
  const save = (e: any) => saved.set(`${e.uid}/${e.locale}/${e._version}`, e);
  const coverBytes = randomBytes(20_000);
  const notesBytes = Buffer.from('meeting notes: keep the backup running\n');
  let author: any;
  let post: any;
  let kept: any;
  let cover: any;
  let notes: any;

  /** Waits until the backup holds every event of the stack, with its actor (the feed has been read). */
  async function backupHoldsAll() {
    const events = await api.events();
    const last = events[events.length - 1].seq;
    await until(`the backup to hold ${events.length} events up to seq ${last}`, async () => {
      const s = (await b.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      return s && s.events === events.length && s.feed_cursor === last;
    });
    return events;
  }

  before(async () => {
    h = await spawnHerald();
    stack = await h.newStack('Source');
    api = stackApi(h, stack);
    b = await spawnBackup(['--secret', secret, '--source', h.url, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '1s'], {
      env: { HERALD_BACKUP_TOKEN: stack.token },
    });
    await api.post('/v3/webhooks', { webhook: { name: 'Backup center', destinations: [{ target_url: `${b.url}/deliveries` }], channels: ['*.*'], signing_secret: secret } });

    await api.post('/v3/locales', { locale: { code: 'fr-fr', name: 'French' } });
    await api.post('/v3/environments', { environment: { name: 'production' } });
    await api.post('/v3/content_types', {
      content_type: {
        uid: 'author',
        title: 'Author',
        schema: [
          { uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true },
          { uid: 'bio', display_name: 'Bio', data_type: 'text' },
        ],
      },
    });
    await api.post('/v3/content_types', {
      content_type: {
        uid: 'post',
        title: 'Post',
        schema: [
          { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
          { uid: 'body', display_name: 'Body', data_type: 'text' },
          { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['author'] },
          { uid: 'cover', display_name: 'Cover', data_type: 'file' },
          {
            uid: 'meta',
            display_name: 'Meta',
            data_type: 'group',
            schema: [
              { uid: 'summary', display_name: 'Summary', data_type: 'text' },
              { uid: 'keywords', display_name: 'Keywords', data_type: 'text', multiple: true },
            ],
          },
        ],
      },
    });
    cover = await api.upload('cover.png', coverBytes, 'image/png', 'Cover photo');
    notes = await api.upload('notes.txt', notesBytes, 'text/plain', 'Notes');

    author = (await api.post('/v3/content_types/author/entries', { entry: { title: 'Ada', bio: 'First programmer' } })).entry;
    save(author);
    save((await api.put(`/v3/content_types/author/entries/${author.uid}`, { entry: { bio: 'Wrote the first program' } })).entry);

    post = (
      await api.post('/v3/content_types/post/entries', {
        entry: { title: 'Hello', body: 'Draft one', author: [{ uid: author.uid, _content_type_uid: 'author' }], cover: cover.uid, meta: { summary: 'A greeting', keywords: ['hi'] } },
      })
    ).entry;
    save(post);
    save((await api.put(`/v3/content_types/post/entries/${post.uid}`, { entry: { body: 'Draft two' } })).entry);
    save((await api.put(`/v3/content_types/post/entries/${post.uid}`, { entry: { body: 'Final words', meta: { summary: 'A warm greeting', keywords: ['hi', 'hello'] } } })).entry);
    save((await api.put(`/v3/content_types/post/entries/${post.uid}?locale=fr-fr`, { entry: { title: 'Bonjour', body: 'Premier jet' } })).entry);
    save((await api.put(`/v3/content_types/post/entries/${post.uid}?locale=fr-fr`, { entry: { body: 'Mots de la fin' } })).entry);

    await api.post(`/v3/content_types/author/entries/${author.uid}/publish`, { entry: { environments: ['production'], locales: ['en-us', 'fr-fr'] } });
    await api.post(`/v3/content_types/post/entries/${post.uid}/publish`, { entry: { environments: ['production'], locales: ['en-us', 'fr-fr'] } });
    await api.post(`/v3/assets/${cover.uid}/publish`, { asset: { environments: ['production'], locales: ['en-us'] } });

    kept = (await api.post('/v3/content_types/post/entries', { entry: { title: 'Kept', body: 'Stays', author: [{ uid: author.uid, _content_type_uid: 'author' }] } })).entry;
    save(kept);
    save((await api.put(`/v3/content_types/post/entries/${kept.uid}?locale=fr-fr`, { entry: { title: 'Gardé' } })).entry);

    // The backup downloads each asset version's file when its event arrives (Herald keeps replaced
    // and deleted files, so it could also do so later); the script waits until it holds them.
    for (const a of [cover, notes]) {
      await until(`the backup to hold the file of ${a.filename}`, async () => {
        const v = await b.get(`/stacks/${stack.api_key}/entities/asset/${a.uid}/versions`);
        return v.status === 200 && v.body.versions[0].file?.status === 'stored';
      });
    }

    // The accidents the backup is for.
    await api.del(`/v3/content_types/post/entries/${kept.uid}?locale=fr-fr`);
    await api.post(`/v3/content_types/post/entries/${post.uid}/unpublish`, { entry: { environments: ['production'], locales: ['en-us', 'fr-fr'] } });
    await api.del(`/v3/content_types/post/entries/${post.uid}`);
    await api.post(`/v3/assets/${cover.uid}/unpublish`, { asset: { environments: ['production'], locales: ['en-us'] } });
    await api.del(`/v3/assets/${cover.uid}`);
    await api.del(`/v3/assets/${notes.uid}`);
    await backupHoldsAll();
  });

  after(async () => {
    await b?.stop();
    await h?.close();
  });

  it('holds every version of every entry line, as Herald saved it, with who saved it', async () => {
    const v = (await b.get(`/stacks/${stack.api_key}/entities/entry/${post.uid}/versions`)).body;
    assert.equal(v.entity.deleted, true);
    const saves = v.versions.filter((x: any) => x.action === 'create' || x.action === 'update');
    assert.deepEqual(
      saves.map((x: any) => `${x.line}/${x.version}`),
      ['en-us/1', 'en-us/2', 'en-us/3', 'fr-fr/1', 'fr-fr/2'],
    );
    for (const x of saves) {
      const one = (await b.get(`/stacks/${stack.api_key}/entities/entry/${post.uid}/versions/${x.seq}`)).body.version;
      const herald = saved.get(`${post.uid}/${x.line}/${x.version}`);
      assert.deepEqual(contentOf(one.data.entry, POST_FIELDS), contentOf(herald, POST_FIELDS), `${x.line} version ${x.version}`);
      assert.equal(one.actor, herald.updated_by);
    }
    assert.deepEqual(
      v.versions.map((x: any) => x.action),
      ['create', 'update', 'update', 'update', 'update', 'publish', 'publish', 'unpublish', 'unpublish', 'delete'],
    );
  });

  it('holds the state of each entity: deleted ones, and a line deleted in one locale only', async () => {
    const list = (await b.get(`/stacks/${stack.api_key}/entities?limit=100`)).body.entities;
    const state = Object.fromEntries(list.map((e: any) => [e.uid, [e.deleted, e.lines]]));
    assert.deepEqual(state[post.uid], [true, { 'en-us': 'deleted', 'fr-fr': 'deleted' }]);
    assert.deepEqual(state[kept.uid], [false, { 'en-us': 'live', 'fr-fr': 'deleted' }]);
    assert.deepEqual(state[cover.uid], [true, { '': 'deleted' }]);
    assert.deepEqual(state.post, [false, { '': 'live' }]);
    const found = (await b.get(`/stacks/${stack.api_key}/entities?q=hello`)).body.entities;
    assert.deepEqual(
      found.map((e: any) => e.uid),
      [post.uid],
    );
  });

  it('keeps the file bytes of every asset version, also after the asset was deleted', async () => {
    const v = (await b.get(`/stacks/${stack.api_key}/entities/asset/${cover.uid}/versions`)).body;
    assert.ok(v.versions.every((x: any) => x.file?.status === 'stored'), JSON.stringify(v.versions.map((x: any) => x.file)));
    const res = await fetch(`${b.url}/stacks/${stack.api_key}/assets/${cover.uid}/files/1`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(coverBytes));
  });

  it('restores a deleted entry with its fields in every locale under its own uid, recreating the deleted asset it refers to under its own', async () => {
    const before = (await api.events()).length;
    const r = await runRestore(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', post.uid]);
    assert.equal(r.code, 0, r.stderr);
    // Sites hard-code ids: the uids were free in the target, so they are kept and nothing is remapped.
    assert.deepEqual([r.report.uid_map, r.report.warnings], [{}, []]);
    const newPost = post.uid;
    const newCover = cover.uid;
    assert.deepEqual(
      r.report.steps.map((s: any) => `${s.action} ${s.module} ${s.target_uid}${s.locale ? ` ${s.locale}` : ''}`),
      [`created asset ${cover.uid}`, `created entry ${post.uid} en-us`, `updated entry ${post.uid} fr-fr`],
    );
    // Webhooks hear creates, as of any other.
    assert.deepEqual(
      (await api.events()).slice(before).map((e: any) => `${e.module} ${e.action} ${e.uid}`),
      [`asset create ${cover.uid}`, `entry create ${post.uid}`, `entry update ${post.uid}`],
    );

    const en = (await api.get(`/v3/content_types/post/entries/${newPost}?locale=en-us`)).entry;
    const lastEn = saved.get(`${post.uid}/en-us/3`);
    assert.deepEqual(contentOf(en, POST_FIELDS), { ...contentOf(lastEn, POST_FIELDS), cover: newCover });
    assert.deepEqual(en.author, [{ uid: author.uid, _content_type_uid: 'author' }]);
    const fr = (await api.get(`/v3/content_types/post/entries/${newPost}?locale=fr-fr`)).entry;
    assert.equal(fr.locale, 'fr-fr');
    assert.deepEqual(contentOf(fr, POST_FIELDS), { ...contentOf(saved.get(`${post.uid}/fr-fr/2`), POST_FIELDS), cover: newCover });

    assert.ok((await api.download(newCover)).equals(coverBytes));
    assert.equal((await api.get(`/v3/assets/${newCover}`)).asset.title, 'Cover photo');
  });

  it('restores a deleted asset with its file bytes', async () => {
    const r = await runRestore(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--asset', notes.uid], { HERALD_RESTORE_TOKEN: stack.token });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report.uid_map, {});
    const uid = notes.uid;
    const asset = (await api.get(`/v3/assets/${uid}`)).asset;
    assert.equal(asset.title, 'Notes');
    assert.equal(asset.filename, 'notes.txt');
    assert.ok((await api.download(uid)).equals(notesBytes));
  });

  it('gives an entry whose uid is taken in the target a new one, with a warning naming both, and rewrites the references to it', async () => {
    const gone = (await api.post('/v3/content_types/author/entries', { entry: { title: 'Lovelace', bio: 'Gone' } })).entry;
    const citing = (await api.post('/v3/content_types/post/entries', { entry: { title: 'Citing', author: [{ uid: gone.uid, _content_type_uid: 'author' }] } })).entry;
    await api.del(`/v3/content_types/post/entries/${citing.uid}`);
    await api.del(`/v3/content_types/author/entries/${gone.uid}`);
    await backupHoldsAll();
    // Restored into another stack, where an entry of another content type has the author's uid.
    const other = await h.newStack('Other');
    const target = stackApi(h, other);
    await target.post('/v3/content_types', { content_type: { uid: 'note', title: 'Note', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text' }] } });
    const squatter = await h.request('POST', '/v3/content_types/note/entries', { body: { entry: { title: 'Squatter' } }, headers: { ...target.headers, 'x-herald-uid': gone.uid } });
    assert.equal(squatter.status, 201, JSON.stringify(squatter.body));

    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', other.api_key, '--token', other.token, '--stack', stack.api_key, '--entry', citing.uid]);
    assert.equal(r.code, 0, r.stderr);
    // Keyed by content type and uid: the uid was given again to another content type's entry.
    const moved = r.report.uid_map[`entry:author/${gone.uid}`];
    assert.ok(moved && moved !== gone.uid, JSON.stringify(r.report));
    assert.deepEqual(r.report.uid_map, { [`entry:author/${gone.uid}`]: moved });
    assert.deepEqual(r.report.warnings, [
      `entry ${gone.uid} was made again as ${moved}, not under its own uid: its uid is taken there. References to it that this restore brought back point at ${moved}; a site or app that names ${gone.uid} needs the new uid.`,
    ]);
    const back = (await target.get(`/v3/content_types/post/entries/${citing.uid}`)).entry;
    assert.deepEqual(back.author, [{ uid: moved, _content_type_uid: 'author' }]);
    assert.equal((await target.get(`/v3/content_types/author/entries/${moved}`)).entry.bio, 'Gone');
    assert.equal((await target.get(`/v3/content_types/note/entries/${gone.uid}`)).entry.title, 'Squatter');
  });

  it("keeps apart the histories of two content types' entries that had the same uid, and restores each", async () => {
    // An author deleted, then a post made under its uid (Herald's x-herald-uid; a Contentful id reused after deletion is the same).
    const first = (await api.post('/v3/content_types/author/entries', { entry: { title: 'Grace', bio: 'Compilers' } })).entry;
    await api.put(`/v3/content_types/author/entries/${first.uid}`, { entry: { bio: 'COBOL' } });
    await api.del(`/v3/content_types/author/entries/${first.uid}`);
    const reused = await h.request('POST', '/v3/content_types/post/entries', { body: { entry: { title: 'Same uid', body: 'A post' } }, headers: { ...api.headers, 'x-herald-uid': first.uid } });
    assert.equal(reused.status, 201, JSON.stringify(reused.body));
    await backupHoldsAll();

    const listed = (await b.get(`/stacks/${stack.api_key}/entities?q=${first.uid}`)).body.entities;
    assert.deepEqual(
      listed.map((e: any) => `${e.content_type_uid} ${e.title} ${e.deleted ? 'deleted' : 'live'} ${e.versions}`).sort(),
      ['author Grace deleted 3', 'post Same uid live 1'],
    );
    const history = (ct: string) => b.get(`/stacks/${stack.api_key}/entities/entry/${first.uid}/versions?content_type_uid=${ct}`);
    assert.deepEqual((await history('author')).body.versions.map((v: any) => `${v.action} ${v.title}`), ['create Grace', 'update Grace', 'delete Grace']);
    assert.deepEqual((await history('post')).body.versions.map((v: any) => `${v.action} ${v.title}`), ['create Same uid']);
    // Without the content type the uid names two histories: a 422 naming the field, not one of them picked.
    const ambiguous = await b.get(`/stacks/${stack.api_key}/entities/entry/${first.uid}/versions`);
    assert.equal(ambiguous.status, 422);
    assert.deepEqual(Object.keys(ambiguous.body.errors), ['content_type_uid']);

    const r0 = await runRestore(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', first.uid]);
    assert.equal(r0.code, 2, r0.stderr);
    assert.match(r0.stderr, /--content-type/);
    // The deleted author comes back into an empty stack, with its own content; the post is untouched at the source.
    const empty = await h.newStack('Reused uid');
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', empty.api_key, '--token', empty.token, '--stack', stack.api_key, '--entry', first.uid, '--content-type', 'author']);
    assert.equal(r.code, 0, r.stderr);
    const back = (await stackApi(h, empty).get(`/v3/content_types/author/entries/${first.uid}`)).entry;
    assert.deepEqual([back.title, back.bio], ['Grace', 'COBOL']);
    assert.deepEqual(r.report.steps.map((s: any) => `${s.action} ${s.module} ${s.uid}`), ['created content_type author', `created entry ${first.uid}`]);
  });

  it('brings back an older version of a live entry as a new version', async () => {
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', author.uid, '--version', '1']);
    assert.equal(r.code, 0, r.stderr);
    const now = (await api.get(`/v3/content_types/author/entries/${author.uid}`)).entry;
    assert.equal(now._version, 3);
    assert.equal(now.bio, 'First programmer');
    assert.equal(now.uid, author.uid);
  });

  it('brings back one deleted locale of an entry', async () => {
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', kept.uid, '--locale', 'fr-fr']);
    assert.equal(r.code, 0, r.stderr);
    const fr = (await api.get(`/v3/content_types/post/entries/${kept.uid}?locale=fr-fr`)).entry;
    assert.equal(fr.locale, 'fr-fr');
    assert.equal(fr.title, 'Gardé');
  });

  it('restores a deleted content type with its last schema', async () => {
    const schema = [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }];
    await api.post('/v3/content_types', { content_type: { uid: 'scratch', title: 'Scratch', schema } });
    const wider = [...schema, { uid: 'note', display_name: 'Note', data_type: 'text' }];
    await api.put('/v3/content_types/scratch', { content_type: { title: 'Scratch pad', schema: wider } });
    await api.del('/v3/content_types/scratch');
    await backupHoldsAll();
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--content-type', 'scratch']);
    assert.equal(r.code, 0, r.stderr);
    const ct = (await api.get('/v3/content_types/scratch')).content_type;
    assert.equal(ct.title, 'Scratch pad');
    assert.deepEqual(
      ct.schema.map((f: any) => [f.uid, f.data_type]),
      [
        ['title', 'text'],
        ['note', 'text'],
      ],
    );
  });

  it('refuses a version the backup does not hold, naming it', async () => {
    const r = await runRestore(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', author.uid, '--version', '9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no version 9 of entry .* \(it holds 1, 2/);
  });

  it('restores the whole stack into an empty stack', async () => {
    // Scheduled for later: not events, so the backup reads the publish queue at catch-up.
    const day = 24 * 3600_000;
    const at = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toISOString();
    await api.post(`/v3/content_types/post/entries/${kept.uid}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: at(day) });
    await api.post(`/v3/content_types/author/entries/${author.uid}/unpublish`, { entry: { environments: ['production'], locales: ['fr-fr'] }, scheduled_at: at(2 * day) });
    const bulk = await api.post('/v3/bulk/publish', { entries: [{ uid: kept.uid, content_type: 'post', locale: 'en-us' }, { uid: author.uid, content_type: 'author' }], environments: ['production'], locales: ['fr-fr'], scheduled_at: at(3 * day) });
    const scheduledAt = Date.now();
    // A catch-up that ended after the scheduling may have read the queue before it; the next one (a stack's catch-ups run one after another) read it after.
    const caughtUp = async () => Date.parse((await b.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key)?.caught_up_at ?? '') || 0;
    await until('a catch-up after the scheduling', async () => (await caughtUp()) > scheduledAt);
    const first = await caughtUp();
    await until('the backup to read the publish queue', async () => (await caughtUp()) > first);
    await backupHoldsAll();
    const empty = await h.newStack('Empty');
    const target = stackApi(h, empty);
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', empty.api_key, '--token', empty.token, '--stack', stack.api_key]);
    assert.equal(r.code, 0, r.stderr);
    // The schedules run as the restore's token (another stack's): said once, naming both tokens.
    const sourceBy = [...new Set(((await api.get('/v3/publish-queue')).queue as any[]).map((q) => q.created_by))];
    const targetBy = [...new Set(((await target.get('/v3/publish-queue')).queue as any[]).map((q) => q.created_by))];
    assert.equal(sourceBy.length, 1);
    assert.equal(targetBy.length, 1);
    assert.notEqual(targetBy[0], sourceBy[0]);
    assert.equal(r.report.warnings.length, 1, JSON.stringify(r.report.warnings));
    assert.match(
      r.report.warnings[0],
      new RegExp(`^3 of the 3 publishes and unpublishes scheduled again will be made as this restore's token \\(${targetBy[0]}\\), not as the token that scheduled them at the source \\(.+ \\(${sourceBy[0]}\\)\\): `),
    );
    assert.deepEqual(
      [...new Set(r.report.steps.filter((s: any) => s.action === 'scheduled').map((s: any) => s.scheduled_by))],
      sourceBy,
    );
    // Another stack has none of the source's uids: each is kept.
    assert.deepEqual(r.report.uid_map, {});
    const map = (module: string, uid: string) => (r.report.uid_map[`${module}:${uid}`] as string | undefined) ?? uid;

    const codes = async (a: StackApi) => ((await a.get('/v3/locales')).locales as any[]).map((l) => [l.code, l.fallback_locale]).sort();
    assert.deepEqual(await codes(target), await codes(api));
    const envs = async (a: StackApi) => ((await a.get('/v3/environments')).environments as any[]).map((e) => e.name).sort();
    assert.deepEqual(await envs(target), await envs(api));

    const types = async (a: StackApi) => ((await a.get('/v3/content_types')).content_types as any[]).map((c) => ({ uid: c.uid, title: c.title, schema: c.schema })).sort((x, y) => x.uid.localeCompare(y.uid));
    assert.deepEqual(await types(target), await types(api));

    const sourceAssets = (await api.get('/v3/assets')).assets as any[];
    assert.equal(((await target.get('/v3/assets')).assets as any[]).length, sourceAssets.length);
    for (const a of sourceAssets) {
      const t = (await target.get(`/v3/assets/${map('asset', a.uid)}`)).asset;
      assert.deepEqual([t.title, t.filename, t.content_type], [a.title, a.filename, a.content_type]);
      assert.ok((await target.download(t.uid)).equals(await api.download(a.uid)), a.filename);
    }

    // publish_details name environments by uid, which differs between stacks.
    const envNames = async (a: StackApi) => new Map(((await a.get('/v3/environments')).environments as any[]).map((e) => [e.uid, e.name]));
    const sourceEnvs = await envNames(api);
    const targetEnvs = await envNames(target);
    const published = (x: any, names: Map<string, string>) => (x.publish_details as any[]).map((p) => `${names.get(p.environment)}/${p.locale}`).sort();
    for (const ct of ['author', 'post']) {
      const sourceEntries = (await api.get(`/v3/content_types/${ct}/entries`)).entries as any[];
      assert.equal(((await target.get(`/v3/content_types/${ct}/entries`)).entries as any[]).length, sourceEntries.length);
      for (const e of sourceEntries) {
        for (const locale of ['en-us', 'fr-fr']) {
          const s = (await api.get(`/v3/content_types/${ct}/entries/${e.uid}?locale=${locale}`)).entry;
          const t = (await target.get(`/v3/content_types/${ct}/entries/${map('entry', e.uid)}?locale=${locale}`)).entry;
          const expected = contentOf(s, POST_FIELDS.concat('bio'));
          if (expected.author) expected.author = (expected.author as any[]).map((x) => ({ ...x, uid: map('entry', x.uid) }));
          if (expected.cover) expected.cover = map('asset', expected.cover as string);
          assert.deepEqual([t.locale, contentOf(t, POST_FIELDS.concat('bio'))], [s.locale, expected], `${ct} ${e.title} ${locale}`);
          assert.deepEqual(published(t, targetEnvs), published(s, sourceEnvs), `${ct} ${e.title} ${locale} publications`);
        }
      }
    }

    // The publishes and unpublishes still ahead are scheduled again, for the same time.
    // A bulk job's items too (the target gives it a new job id).
    const queue = async (a: StackApi, uid: (u: string) => string) =>
      ((await a.get('/v3/publish-queue')).queue as any[]).map((q) =>
        [q.action, q.type, q.type === 'bulk' ? q.entries.map((e: any) => ({ ...e, uid: uid(e.uid) })) : uid(q.entry?.uid ?? q.asset?.uid), q.environments, q.locales, q.scheduled_at],
      );
    const sourceQueue = await queue(api, (u) => map('entry', u));
    assert.equal(sourceQueue.length, 3);
    assert.deepEqual(await queue(target, (u) => u), sourceQueue);
    assert.deepEqual(
      r.report.steps.filter((s: any) => s.action === 'scheduled').map((s: any) => `${s.scheduled} ${s.module} ${s.uid}`),
      [`publish entry ${kept.uid}`, `unpublish entry ${author.uid}`, `publish bulk ${bulk.job_id}`],
    );

    // Run again into the same target: the schedules it holds are matched, none is made twice.
    const queued = await target.get('/v3/publish-queue');
    const again = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', empty.api_key, '--token', empty.token, '--stack', stack.api_key]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await target.get('/v3/publish-queue'), queued);
    assert.deepEqual(
      again.report.steps.filter((s: any) => s.action === 'scheduled' || s.action === 'already_scheduled').map((s: any) => `${s.action} ${s.scheduled} ${s.module} ${s.uid} ${s.target_uid}`),
      [
        `already_scheduled publish entry ${kept.uid} ${kept.uid}`,
        `already_scheduled unpublish entry ${author.uid} ${author.uid}`,
        `already_scheduled publish bulk ${bulk.job_id} ${(queued.queue as any[]).find((q) => q.type === 'bulk').uid}`,
      ],
    );
    assert.deepEqual(again.report.warnings, []);
  });

  it('brings back an older version of an entry and of an asset that are archived in the target, and leaves them archived', async () => {
    const old = (await api.post('/v3/content_types/author/entries', { entry: { title: 'Grace', bio: 'Admiral' } })).entry;
    await api.put(`/v3/content_types/author/entries/${old.uid}`, { entry: { bio: 'Wrote COBOL' } });
    await api.post(`/v3/content_types/author/entries/${old.uid}/archive`, {});
    const file = await api.upload('old.txt', Buffer.from('old\n'), 'text/plain', 'Old title');
    await api.put(`/v3/assets/${file.uid}`, { asset: { title: 'New title' } });
    await api.post(`/v3/assets/${file.uid}/archive`, {});
    await until('the backup to hold the file of old.txt', async () => {
      const v = await b.get(`/stacks/${stack.api_key}/entities/asset/${file.uid}/versions`);
      return v.status === 200 && v.body.versions.some((x: any) => x.file?.status === 'stored');
    });
    await backupHoldsAll();
    const before = (await api.events()).length;

    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--entry', old.uid, '--version', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.report.steps.map((s: any) => `${s.action} ${s.module}${s.locale ? ` ${s.locale}` : ''}`),
      ['unarchived entry', 'updated entry en-us', 'archived entry'],
    );
    const now = (await api.get(`/v3/content_types/author/entries/${old.uid}`)).entry;
    assert.deepEqual([now.bio, now._version, now._archived], ['Admiral', 3, true]);

    const a = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--asset', file.uid, '--version', '1']);
    assert.equal(a.code, 0, a.stderr);
    const asset = (await api.get(`/v3/assets/${file.uid}`)).asset;
    assert.deepEqual([asset.title, asset._archived], ['Old title', true]);
    // What the target's log (and its webhooks) heard: each unarchived, saved once, archived again.
    const events = (await api.events()).slice(before);
    assert.deepEqual(
      events.map((e: any) => `${e.module} ${e.action}`),
      ['entry unarchive', 'entry update', 'entry archive', 'asset unarchive', 'asset update', 'asset archive'],
    );
  });

  it('shows entities, versions and diffs on its page, whose Restore button brings a deleted entry back', async () => {
    await api.del(`/v3/content_types/post/entries/${kept.uid}`);
    await backupHoldsAll();
    const page = async (path: string) => {
      const res = await fetch(b.url + path);
      assert.equal(res.status, 200, path);
      return res.text();
    };
    const list = await page(`/ui/stacks/${stack.api_key}?q=kep`);
    // An entry's links name its content type (its key with the uid).
    assert.match(list, new RegExp(`href="/ui/stacks/${stack.api_key}/entry/${kept.uid}\\?content_type_uid=post">Kept</a>`));
    const html = await page(`/ui/stacks/${stack.api_key}/entry/${kept.uid}`);
    assert.match(html, /deleted at the source/);
    assert.match(html, /href="[^"]+\/diff\?from=\d+&amp;to=\d+&amp;content_type_uid=post"/);
    const versions = (await b.get(`/stacks/${stack.api_key}/entities/entry/${kept.uid}/versions`)).body.versions as any[];
    const en = versions.find((v) => v.line === 'en-us' && v.action === 'create').seq;
    const fr = versions.find((v) => v.line === 'fr-fr' && v.action === 'update').seq;
    assert.match(await page(`/ui/stacks/${stack.api_key}/entry/${kept.uid}/diff?from=${en}&to=${fr}`), /<code>title<\/code><\/td><td>changed<\/td><td>&quot;Kept&quot;<\/td><td>&quot;Gardé&quot;/);

    // Restore asks first: the button leads to a page that says what comes back, with the form.
    const ask = /<a class="btn btn-primary" href="([^"]+\/restore\?content_type_uid=post)">Restore as it was before deletion…<\/a>/.exec(html)!;
    assert.ok(ask, 'a Restore link to the confirmation page');
    const confirm = await page(ask[1]!);
    assert.match(confirm, /<h1>Restore Kept\?<\/h1>/);
    assert.match(confirm, /The entity was deleted there, so it is created again/);
    const form = /<form method="post" action="([^"]+)"[^>]*><input type="hidden" name="csrf" value="([^"]+)"><button class="btn-primary">Restore as it was before deletion/.exec(confirm)!;
    assert.ok(form, confirm);
    const forged = await fetch(b.url + form[1], { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=forged' });
    assert.equal(forged.status, 403);
    const res = await fetch(b.url + form[1], { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(form[2])}` });
    const result = await res.text();
    assert.equal(res.status, 200, result);
    assert.ok(result.includes(`Restored: created entry ${kept.uid} (en-us)`), result);
    assert.ok(result.includes(`<a href="${h.url}/#/content/post/${kept.uid}">Open it in Herald</a>`), "a link to the restored entry in the web app");
    const back = (await api.get(`/v3/content_types/post/entries/${kept.uid}?locale=fr-fr`)).entry;
    assert.deepEqual([back.title, back.locale], ['Gardé', 'fr-fr']);
  });
});

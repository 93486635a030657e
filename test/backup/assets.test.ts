import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { pruneRetiredFiles } from '../../src/content/assets.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { schemaForDataDir } from '../helpers/postgres.ts';
import { runRestoreHere, spawnBackup, testSecret, until, type SpawnedBackup } from './helpers/backup.ts';
import { stackApi, type StackApi } from './helpers/content.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * An asset deleted, then another made under its uid (Herald's x-herald-uid; a Contentful id reused
 * is the same): the new asset's versions start at 1 again, and must get their own file bytes.
 */
describe("a new asset under a deleted asset's uid", () => {
  const secret = testSecret(6);
  let h: SpawnedHerald;
  let stack: { api_key: string; token: string };
  let api: StackApi;
  let b: SpawnedBackup;

  /**
   * A backup started now, caught up from the feed alone (no deliveries): what it holds of asset `uid`
   * (`query`: e.g. `?branch=copy`), each version as [action, version, file status, file sha256].
   */
  async function lateVersions(uid: string, query = ''): Promise<unknown[][]> {
    const late = await spawnBackup(['--secret', secret, '--source', h.url, '--token', stack.token, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '1s']);
    try {
      const last = (await api.events()).at(-1).seq;
      await until('the late backup to catch up', async () => ((await late.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key)?.feed_cursor ?? 0) >= last);
      return ((await late.get(`/stacks/${stack.api_key}/entities/asset/${uid}/versions${query}`)).body.versions as any[]).map((v) => [v.action, v.version, v.file?.status, v.file?.sha256]);
    } finally {
      await late.stop();
    }
  }

  async function holdsAll() {
    const events = await api.events();
    const last = events[events.length - 1].seq;
    await until(`the backup to hold ${events.length} events up to seq ${last}`, async () => {
      const s = (await b.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      return s && s.events === events.length && s.highest_seq >= last;
    });
  }

  before(async () => {
    h = await spawnHerald();
    stack = await h.newStack('Reused asset uid');
    api = stackApi(h, stack);
    b = await spawnBackup(['--secret', secret, '--source', h.url, '--token', stack.token, '--api-key', stack.api_key, '--settle-time', '0']);
    await api.post('/v3/webhooks', { webhook: { name: 'Backup', destinations: [{ target_url: `${b.url}/deliveries` }], channels: ['*.*'], signing_secret: secret } });
  });
  after(async () => {
    await b?.stop();
    await h?.close();
  });

  it("keeps each asset's own bytes per version, and a restore under that uid brings back the last one's", async () => {
    const old = await api.upload('old.txt', Buffer.from('the old asset'), 'text/plain');
    await holdsAll();
    await api.del(`/v3/assets/${old.uid}`);
    const form = new FormData();
    form.append('asset[upload]', new Blob([new Uint8Array(Buffer.from('the new asset'))], { type: 'text/plain' }), 'new.txt');
    const res = await fetch(h.url + '/v3/assets', { method: 'POST', headers: { ...api.headers, 'x-herald-uid': old.uid }, body: form });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as any).asset._version, 1);
    await holdsAll();
    const history = async () => (await b.get(`/stacks/${stack.api_key}/entities/asset/${old.uid}/versions`)).body.versions as any[];
    const first = await history();
    assert.deepEqual(
      first.map((v) => [v.action, v.version, v.file?.sha256]),
      [
        ['create', 1, sha('the old asset')],
        ['delete', 1, sha('the old asset')],
        ['create', 1, sha('the new asset')],
      ],
    );
    // The second create begins another asset: the API says so, and the page marks it and diffs nothing across it.
    assert.deepEqual(first.map((v) => v.remade), [false, false, true]);
    const page = await (await fetch(`${b.url}/ui/stacks/${stack.api_key}/asset/${old.uid}`)).text();
    const rows = page.split('<tr>').filter((r) => r.includes('data-label="Seq"'));
    assert.deepEqual(
      rows.map((r) => [/data-label="Seq">(\d+)/.exec(r)![1], r.includes('made again under this uid'), r.includes('/diff?')]),
      [
        [String(first[2].seq), true, false],
        [String(first[1].seq), false, true],
        [String(first[0].seq), false, false],
      ],
    );
    const file = async (query: string) => (await fetch(`${b.url}/stacks/${stack.api_key}/assets/${old.uid}/files/1${query}`)).text();
    assert.equal(await file(''), 'the new asset', "a version is the current asset's by default");
    assert.equal(await file(`?seq=${first[0].seq}`), 'the old asset', "?seq= names an event, so the old asset's bytes stay reachable");

    // Deleted again, then restored under its own uid: the restore brings back the last asset's bytes, not the first one's.
    await api.del(`/v3/assets/${old.uid}`);
    await holdsAll();
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--asset', old.uid]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.report.uid_map, r.report.warnings], [{}, []]);
    assert.equal((await api.download(old.uid)).toString(), 'the new asset');
    await holdsAll();
    assert.deepEqual(
      (await history()).slice(3).map((v) => [v.action, v.version, v.file?.sha256]),
      [
        ['delete', 1, sha('the new asset')],
        ['create', 1, sha('the new asset')],
      ],
    );
    assert.equal(await file(''), 'the new asset');
  });

  it("fetches the earlier asset's bytes when it catches up only after the uid was given to a new asset", async () => {
    const first = await api.upload('first.txt', Buffer.from('the first asset, longer'), 'text/plain');
    await api.del(`/v3/assets/${first.uid}`);
    const form = new FormData();
    form.append('asset[upload]', new Blob([new Uint8Array(Buffer.from('the second asset'))], { type: 'text/plain' }), 'second.txt');
    const made = await fetch(h.url + '/v3/assets', { method: 'POST', headers: { ...api.headers, 'x-herald-uid': first.uid }, body: form });
    assert.equal(made.status, 201);
    const events = (await api.events()).filter((e: any) => e.module === 'asset' && e.uid === first.uid);
    assert.deepEqual(
      events.map((e: any) => e.action),
      ['create', 'delete', 'create'],
    );

    // Herald: x-herald-event-seq picks the asset the uid named at that event, and says so back.
    const download = (headers: Record<string, string>, query = '?version=1') => fetch(`${h.url}/v3/assets/${first.uid}/download${query}`, { headers: { ...api.headers, ...headers } });
    for (const [seq, bytes] of [
      [events[0].seq, 'the first asset, longer'],
      [events[1].seq, 'the first asset, longer'],
      [events[2].seq, 'the second asset'],
    ] as const) {
      const r = await download({ 'x-herald-event-seq': String(seq) });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-herald-event-seq'), String(seq));
      assert.equal(await r.text(), bytes, `at event ${seq}`);
    }
    const plain = await download({});
    assert.deepEqual([plain.headers.get('x-herald-event-seq'), await plain.text()], [null, 'the second asset'], 'without it: the current asset');
    assert.equal((await download({ 'x-herald-event-seq': String(events[0].seq - 1) })).status, 404, 'before the first asset was made, the uid named none');
    for (const [headers, query] of [
      [{ 'x-herald-event-seq': '0' }, '?version=1'],
      [{ 'x-herald-event-seq': 'soon' }, '?version=1'],
      [{ 'x-herald-event-seq': String(events[0].seq) }, ''],
    ] as const) {
      const r = await download(headers, query);
      assert.equal(r.status, 422, JSON.stringify(headers) + query);
      assert.ok(Object.keys(((await r.json()) as any).errors).includes('x-herald-event-seq'));
    }

    // A backup that starts now catches all of it up from the feed: each create gets its own asset's bytes.
    assert.deepEqual(await lateVersions(first.uid), [
      ['create', 1, 'stored', sha('the first asset, longer')],
      ['delete', 1, 'stored', sha('the first asset, longer')],
      ['create', 1, 'stored', sha('the second asset')],
    ]);
  });

  it("fetches a branch's copied asset's bytes, not those of the asset made under its uid in the branch since", async () => {
    // Copied into the branch (created_seq 0 there: its making was main's), then changed, deleted and its uid given again, all in the branch.
    const copied = await api.upload('copied.txt', Buffer.from('as main had it'), 'text/plain');
    await api.post('/v3/stacks/branches', { branch: { uid: 'copy', source: 'main' } });
    const inCopy = { ...api.headers, branch: 'copy' };
    const send = async (method: string, path: string, form: FormData, headers: Record<string, string> = {}) => {
      const r = await fetch(`${h.url}${path}`, { method, headers: { ...inCopy, ...headers }, body: form });
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${await r.text()}`);
    };
    const file = (text: string, name: string) => {
      const form = new FormData();
      form.append('asset[upload]', new Blob([new Uint8Array(Buffer.from(text))], { type: 'text/plain' }), name);
      return form;
    };
    await send('PUT', `/v3/assets/${copied.uid}`, file('changed in the branch, longer', 'copied.txt'));
    assert.equal((await h.request('DELETE', `/v3/assets/${copied.uid}`, { headers: inCopy })).status, 200);
    await send('POST', '/v3/assets', file('made in the branch', 'new.txt'), { 'x-herald-uid': copied.uid });
    const events = (await api.events()).filter((e: any) => e.module === 'asset' && e.uid === copied.uid && e.branch === 'copy');
    assert.deepEqual(events.map((e: any) => `${e.action} ${e.data.asset._version}`), ['update 2', 'delete 2', 'create 1']);

    // Herald: each event's seq names the asset the uid named then in the branch; version 1 before the new asset was the copy's.
    const download = async (version: number, seq: number) => {
      const r = await fetch(`${h.url}/v3/assets/${copied.uid}/download?version=${version}`, { headers: { ...inCopy, 'x-herald-event-seq': String(seq) } });
      assert.equal(r.status, 200, `version ${version} at ${seq}`);
      return r.text();
    };
    assert.equal(await download(1, events[0].seq), 'as main had it');
    assert.equal(await download(2, events[0].seq), 'changed in the branch, longer');
    assert.equal(await download(2, events[1].seq), 'changed in the branch, longer');
    assert.equal(await download(1, events[2].seq), 'made in the branch');

    // A backup that starts now catches the branch up from the feed: the copy's versions keep the copy's bytes.
    assert.deepEqual(await lateVersions(copied.uid, '?branch=copy'), [
      ['update', 2, 'stored', sha('changed in the branch, longer')],
      ['delete', 2, 'stored', sha('changed in the branch, longer')],
      ['create', 1, 'stored', sha('made in the branch')],
    ]);
  });

  it('names the assets a reused uid made one after another: the list counts the current one, --version picks within --incarnation, and refuses one both had', async () => {
    const first = await api.upload('one.txt', Buffer.from('first, v1'), 'text/plain');
    await api.replace(first.uid, 'one.txt', Buffer.from('first, v2'), 'text/plain');
    await api.del(`/v3/assets/${first.uid}`);
    const form = new FormData();
    form.append('asset[upload]', new Blob([new Uint8Array(Buffer.from('second, v1'))], { type: 'text/plain' }), 'two.txt');
    const made = await fetch(h.url + '/v3/assets', { method: 'POST', headers: { ...api.headers, 'x-herald-uid': first.uid }, body: form });
    assert.equal(made.status, 201);
    await api.replace(first.uid, 'two.txt', Buffer.from('second, v2'), 'text/plain');
    await api.replace(first.uid, 'two.txt', Buffer.from('second, v3'), 'text/plain');
    await holdsAll();

    // The list: the asset the uid names now (3 events), the second made under it.
    const listed = (await b.get(`/stacks/${stack.api_key}/entities?q=${first.uid}`)).body.entities as any[];
    assert.deepEqual(listed.map((e) => [e.uid, e.versions, e.incarnations, e.deleted]), [[first.uid, 3, 2, false]]);
    const versions = (await b.get(`/stacks/${stack.api_key}/entities/asset/${first.uid}/versions`)).body.versions as any[];
    assert.deepEqual(
      versions.map((v) => [v.action, v.version, v.incarnation, v.remade]),
      [
        ['create', 1, 1, false],
        ['update', 2, 1, false],
        ['delete', 2, 1, false],
        ['create', 1, 2, true],
        ['update', 2, 2, false],
        ['update', 3, 2, false],
      ],
    );
    // The pages name them too.
    const listPage = await (await fetch(`${b.url}/ui/stacks/${stack.api_key}?q=${first.uid}`)).text();
    assert.match(listPage, /data-label="Versions">3 <span class="muted">\(incarnation 2: made again under this uid\)/);
    const page = await (await fetch(`${b.url}/ui/stacks/${stack.api_key}/asset/${first.uid}`)).text();
    assert.match(page, /This uid named 2 assets one after another/);
    assert.match(page, /data-label="Version">2 <span class="muted">of incarnation 1<\/span>/);
    const confirm = await (await fetch(`${b.url}/ui/stacks/${stack.api_key}/asset/${first.uid}/restore?seq=${versions[1].seq}`)).text();
    assert.match(confirm, /of incarnation 1 of the 2 made under this uid \(an earlier one, deleted since\)/);

    const restore = (...args: string[]) => runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--asset', first.uid, ...args]);
    // Version 2: both assets had one. Refused, naming each, and nothing written.
    const both = await restore('--version', '2');
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /Version 2 of asset \S+ is in 2 of the entities made one after another under its uid: incarnation 1 \(made at seq \d+, [^;]+; deleted at seq \d+\), its event \d+; incarnation 2 \(made at seq \d+, [^)]+; live\), its event \d+\. Name one: incarnation \(--incarnation N\)/);
    assert.equal((await api.download(first.uid)).toString(), 'second, v3');
    // Within a named incarnation: the first asset's version 2, its bytes.
    const old = await restore('--version', '2', '--incarnation', '1');
    assert.equal(old.code, 0, old.stderr);
    assert.equal((await api.download(first.uid)).toString(), 'first, v2');
    // Version 3 only the second had: no need to name it.
    const only = await restore('--version', '3');
    assert.equal(only.code, 0, only.stderr);
    assert.equal((await api.download(first.uid)).toString(), 'second, v3');
    // An incarnation the backup does not hold, and a version the named one lacks: 404s (exit 2) naming what it holds.
    const none = await restore('--incarnation', '3');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /holds no incarnation 3 of asset \S+; it holds 2: incarnation 1 .*, incarnation 2 /);
    const lacks = await restore('--version', '3', '--incarnation', '1');
    assert.equal(lacks.code, 2);
    assert.match(lacks.stderr, /no version 3 of asset \S+ in incarnation 1 \(it holds 1, 2\)/);
    // The restore API takes it too.
    const api2 = await fetch(`${b.url}/stacks/${stack.api_key}/restore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'asset', uid: first.uid, version: 1 }) });
    assert.equal(api2.status, 422);
    assert.deepEqual(Object.keys(((await api2.json()) as any).errors), ['incarnation']);
  });

  it("marks a version missing, not the current file's bytes, when it catches up after the retention pruned that version's file", async () => {
    // The same size on purpose: the backup's size check cannot tell the files apart, only Herald's answer can.
    const asset = await api.upload('pruned.txt', Buffer.from('bytes one'), 'text/plain');
    await api.replace(asset.uid, 'pruned.txt', Buffer.from('bytes two'), 'text/plain');
    // Herald's retention pruner, run now on its store (it runs hourly with a cutoff of days).
    const db = process.env.HERALD_TEST_BACKEND === 'postgres' ? await openPostgres((await schemaForDataDir(h.dataDir)).url, { poolSize: 1 }) : await openSqlite(join(h.dataDir, 'herald.db'));
    try {
      assert.ok((await pruneRetiredFiles(db, join(h.dataDir, 'assets'), Date.now() + 1)) >= 1);
    } finally {
      await db.close();
    }
    assert.deepEqual(await lateVersions(asset.uid), [
      ['create', 1, 'missing', null],
      ['update', 2, 'stored', sha('bytes two')],
    ]);
  });
});

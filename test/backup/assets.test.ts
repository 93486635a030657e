import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { runRestore, spawnBackup, testSecret, until, type SpawnedBackup } from './helpers/backup.ts';
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
    const file = async (query: string) => (await fetch(`${b.url}/stacks/${stack.api_key}/assets/${old.uid}/files/1${query}`)).text();
    assert.equal(await file(''), 'the new asset', "a version is the current asset's by default");
    assert.equal(await file(`?seq=${first[0].seq}`), 'the old asset', "?seq= names an event, so the old asset's bytes stay reachable");

    // Deleted again, then restored under its own uid: the restore brings back the last asset's bytes, not the first one's.
    await api.del(`/v3/assets/${old.uid}`);
    await holdsAll();
    const r = await runRestore(['--from', b.dataDir, '--to', h.url, '--api-key', stack.api_key, '--token', stack.token, '--asset', old.uid]);
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
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signedDelivery, spawnBackup, testSecret, type SpawnedBackup } from './helpers/backup.ts';

/** A delivery body as Herald's payload.ts builds it (seed 003 format, with seq). */
function entryPayload(seq: number, over: { api_key?: string; action?: string; uid?: string; title?: string; version?: number } = {}) {
  return {
    event: over.action ?? 'update',
    module: 'entry',
    api_key: over.api_key ?? 'bltstack0000000001',
    data: {
      entry: {
        uid: over.uid ?? 'bltentry0000000001',
        title: over.title ?? 'Hello',
        locale: 'en-us',
        content_type_uid: 'blog',
        tags: [],
        _version: over.version ?? 1,
        publish_details: [],
      },
      content_type: { uid: 'blog', title: 'Blog', schema: [{ uid: 'title', data_type: 'text' }] },
    },
    triggered_at: new Date().toISOString(),
    branch: { uid: 'main', alias: [] },
    seq,
  };
}

async function post(b: SpawnedBackup, d: { body: string; headers: Record<string, string> }) {
  const res = await fetch(b.url + '/deliveries', { method: 'POST', headers: d.headers, body: d.body });
  return { status: res.status, body: (await res.json()) as any };
}

describe('deliveries to the backup center', () => {
  const secret = testSecret(7);
  let b: SpawnedBackup;

  before(async () => {
    b = await spawnBackup(['--secret', secret]);
  });
  after(() => b.stop());

  it('refuses a delivery signed with another secret with 401 and stores nothing', async () => {
    const d = signedDelivery(testSecret(9), entryPayload(10, { api_key: 'bltforged000000001' }));
    const r = await post(b, d);
    assert.equal(r.status, 401);
    assert.match(r.body.error_message, /signature does not verify/);
    const stacks = await b.get('/stacks');
    assert.deepEqual(stacks.body.stacks.filter((s: any) => s.api_key === 'bltforged000000001'), []);
  });

  it('refuses a delivery whose body was changed after signing', async () => {
    const d = signedDelivery(secret, entryPayload(11, { api_key: 'bltforged000000002' }));
    const r = await post(b, { ...d, body: d.body.replace('Hello', 'Hacked') });
    assert.equal(r.status, 401);
    const stacks = await b.get('/stacks');
    assert.deepEqual(stacks.body.stacks.filter((s: any) => s.api_key === 'bltforged000000002'), []);
  });

  it('refuses an unsigned delivery', async () => {
    const r = await post(b, { body: JSON.stringify(entryPayload(12, { api_key: 'bltforged000000003' })), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 401);
    assert.match(r.body.error_message, /not signed/);
  });

  it('stores a signed delivery once, whether it comes again with the same webhook-id or the same seq', async () => {
    const api_key = 'bltstackdup0000001';
    const payload = entryPayload(20, { api_key, title: 'Once' });
    const first = signedDelivery(secret, payload, 'exe_same_id');
    const r1 = await post(b, first);
    assert.equal(r1.status, 201);
    assert.equal(r1.body.stored, true);

    // Herald's retry: same webhook-id, a new timestamp and signature.
    const retry = signedDelivery(secret, payload, 'exe_same_id');
    const r2 = await post(b, retry);
    assert.equal(r2.status, 200);
    assert.equal(r2.body.stored, false);

    // A second webhook pointing at the same backup: another id, the same event.
    const twin = signedDelivery(secret, payload, 'exe_other_id');
    const r3 = await post(b, twin);
    assert.equal(r3.status, 200);
    assert.equal(r3.body.stored, false);

    const stack = (await b.get('/stacks')).body.stacks.find((s: any) => s.api_key === api_key);
    assert.equal(stack.events, 1);
    const versions = await b.get(`/stacks/${api_key}/entities/entry/bltentry0000000001/versions`);
    assert.deepEqual(
      versions.body.versions.map((v: any) => [v.seq, v.action, v.title, v.origin]),
      [[20, 'update', 'Once', 'webhook']],
    );
  });

  it('answers a signed delivery that is not a Herald event with 422 naming the field', async () => {
    const bad = entryPayload(30, { api_key: 'bltstackbad0000001' }) as Record<string, unknown>;
    delete bad.seq;
    const r = await post(b, signedDelivery(secret, bad));
    assert.equal(r.status, 422);
    assert.ok('seq' in r.body.errors, JSON.stringify(r.body));
  });

  it('keeps each version of an entity as its own row, in seq order, with a diff between them', async () => {
    const api_key = 'bltstackver0000001';
    await post(b, signedDelivery(secret, entryPayload(41, { api_key, action: 'create', title: 'First', version: 1 })));
    await post(b, signedDelivery(secret, entryPayload(45, { api_key, action: 'update', title: 'Second', version: 2 })));
    // Arrives late (a retry): still kept, in its place.
    await post(b, signedDelivery(secret, entryPayload(43, { api_key, action: 'update', title: 'Between', version: 2 })));
    const v = await b.get(`/stacks/${api_key}/entities/entry/bltentry0000000001/versions`);
    assert.deepEqual(
      v.body.versions.map((x: any) => [x.seq, x.title]),
      [
        [41, 'First'],
        [43, 'Between'],
        [45, 'Second'],
      ],
    );
    assert.equal(v.body.entity.title, 'Second');
    const d = await b.get(`/stacks/${api_key}/entities/entry/bltentry0000000001/diff?from=41&to=45`);
    assert.deepEqual(d.body.changes, [{ path: 'title', kind: 'changed', from: 'First', to: 'Second' }]);
    const found = await b.get(`/stacks/${api_key}/entities?q=seco`);
    assert.deepEqual(
      found.body.entities.map((e: any) => e.uid),
      ['bltentry0000000001'],
    );
  });

  it('shows what editors typed on its page as text, never as markup', async () => {
    const api_key = 'bltstackxss0000001';
    await post(b, signedDelivery(secret, entryPayload(60, { api_key, action: 'create', title: '<script>alert(1)</script>' })));
    const res = await fetch(`${b.url}/ui/stacks/${api_key}`);
    const html = await res.text();
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(html, /<script>/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const page = await (await fetch(`${b.url}/ui/stacks/${api_key}/entry/bltentry0000000001`)).text();
    assert.match(page, /Restoring from this page needs --source/);
  });
});

describe('deliveries with basic auth', () => {
  let b: SpawnedBackup;
  const auth = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

  before(async () => {
    b = await spawnBackup([], { env: { HERALD_BACKUP_BASIC_AUTH: 'herald:correct horse' } });
  });
  after(() => b.stop());

  it('accepts the configured credentials and refuses others, on deliveries and on the browse API', async () => {
    const body = JSON.stringify(entryPayload(50, { api_key: 'bltstackbasic00001' }));
    const wrong = await fetch(b.url + '/deliveries', { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth('herald', 'wrong') }, body });
    assert.equal(wrong.status, 401);
    const right = await fetch(b.url + '/deliveries', { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth('herald', 'correct horse') }, body });
    assert.equal(right.status, 201);
    assert.equal((await b.get('/stacks')).status, 401);
    const stacks = await b.get('/stacks', { authorization: auth('herald', 'correct horse') });
    assert.deepEqual(
      stacks.body.stacks.map((s: any) => [s.api_key, s.events]),
      [['bltstackbasic00001', 1]],
    );
  });
});

describe('starting the backup center', () => {
  it('refuses to start without a secret or basic auth, naming the setting', async () => {
    await assert.rejects(spawnBackup([]), /HERALD_BACKUP_SECRET \(--secret\)/);
  });

  it('refuses a secret that is not a Standard Webhooks secret', async () => {
    await assert.rejects(spawnBackup(['--secret', 'hunter2']), /--secret.*whsec_/);
  });
});

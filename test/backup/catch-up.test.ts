import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { signedDelivery, spawnBackup, testSecret, until, type SpawnedBackup } from './helpers/backup.ts';
import { stackApi, type StackApi } from './helpers/content.ts';

/** Acceptance 2: a backup center that was down catches up from Herald's event feed; what it cannot fill it reports. */
describe('catching up from the event feed', () => {
  const secret = testSecret(5);
  let h: SpawnedHerald;
  let stack: { api_key: string; token: string };
  let api: StackApi;
  let b: SpawnedBackup;
  let webhookUid: string;
  const args = () => ['--secret', secret, '--source', h.url, '--token', stack.token, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '60s'];

  async function holdsAll(backup: SpawnedBackup) {
    const events = await api.events();
    const last = events[events.length - 1].seq;
    // A bulk job's summary (module job) is read past, not kept: its items' own events are.
    const kept = events.filter((e) => e.module !== 'job').length;
    await until(`the backup to hold ${kept} events up to seq ${last}`, async () => {
      const s = (await backup.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      return s && s.events === kept && s.feed_cursor === last;
    });
    return events;
  }

  before(async () => {
    h = await spawnHerald();
    stack = await h.newStack('Catch-up');
    api = stackApi(h, stack);
    b = await spawnBackup(args());
    webhookUid = (await api.post('/v3/webhooks', { webhook: { name: 'Backup', destinations: [{ target_url: `${b.url}/deliveries` }], channels: ['*.*'], signing_secret: secret } })).webhook.uid;
    await api.post('/v3/content_types', { content_type: { uid: 'page', title: 'Page', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
  });
  after(async () => {
    await b?.stop();
    await h?.close();
  });

  it('stores what changed while it was stopped, once restarted', async () => {
    const page = (await api.post('/v3/content_types/page/entries', { entry: { title: 'Home' } })).entry;
    const before = await holdsAll(b);
    const cursor = before[before.length - 1].seq;

    assert.equal(await b.stop(), 0);
    await api.put(`/v3/content_types/page/entries/${page.uid}`, { entry: { title: 'Home, edited while the backup was down' } });
    const other = (await api.post('/v3/content_types/page/entries', { entry: { title: 'About' } })).entry;
    const file = await api.upload('logo.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'image/svg+xml');
    await api.del(`/v3/content_types/page/entries/${other.uid}`);
    // An asset whose file is replaced, then deleted, all while the backup is down: Herald keeps
    // each version's file, so every version's bytes can still be caught up on.
    const draft = await api.upload('draft.txt', Buffer.from('first draft'), 'text/plain');
    await api.replace(draft.uid, 'final.txt', Buffer.from('the final text'), 'text/plain');
    await api.del(`/v3/assets/${draft.uid}`);
    const missed = (await api.events()).filter((e) => e.seq > cursor);
    assert.equal(missed.length, 7);

    // Herald tried to deliver them, and gave up: the gap is real.
    await until('Herald to give up on the deliveries', async () => {
      const x = (await api.get(`/v3/webhooks/${webhookUid}/executions?limit=100`)).webhooks as any[];
      const mine = x.filter((e) => e.seq > cursor);
      return mine.length === missed.length && mine.every((e) => e.state === 'failed');
    });

    b = await spawnBackup(args(), { dataDir: b.dataDir });
    await holdsAll(b);
    const versions = (await b.get(`/stacks/${stack.api_key}/entities/entry/${page.uid}/versions`)).body.versions;
    assert.deepEqual(
      versions.map((v: any) => [v.action, v.title, v.origin]),
      [
        ['create', 'Home', 'feed'],
        ['update', 'Home, edited while the backup was down', 'feed'],
      ],
    );
    const gone = (await b.get(`/stacks/${stack.api_key}/entities/entry/${other.uid}/versions`)).body;
    assert.equal(gone.entity.deleted, true);
    const asset = (await b.get(`/stacks/${stack.api_key}/entities/asset/${file.uid}/versions`)).body.versions;
    assert.equal(asset[0].file.status, 'stored');
    const draftVersions = (await b.get(`/stacks/${stack.api_key}/entities/asset/${draft.uid}/versions`)).body.versions as any[];
    assert.deepEqual(
      draftVersions.map((v) => [v.action, v.file?.status]),
      [
        ['create', 'stored'],
        ['update', 'stored'],
        ['delete', 'stored'],
      ],
    );
    const stored = async (version: number) => (await fetch(`${b.url}/stacks/${stack.api_key}/assets/${draft.uid}/files/${version}`)).text();
    assert.deepEqual([await stored(1), await stored(2)], ['first draft', 'the final text']);
    const status = (await b.get('/status')).body;
    assert.deepEqual(status.stacks.find((s: any) => s.api_key === stack.api_key).gaps, []);
  });

  it('reads past a bulk job in the feed: its items are kept, its summary is no entity and leaves no gap', async () => {
    // (The webhook still names the first backup's port: this one learns from the feed, at start.)
    await api.post('/v3/environments', { environment: { name: 'production' } });
    const one = (await api.post('/v3/content_types/page/entries', { entry: { title: 'Bulk one' } })).entry;
    const two = (await api.post('/v3/content_types/page/entries', { entry: { title: 'Bulk two' } })).entry;
    assert.equal(await b.stop(), 0);
    await api.post('/v3/bulk/publish', { entries: [{ uid: one.uid, content_type: 'page' }, { uid: two.uid, content_type: 'page' }], environments: ['production'] });
    const events = await api.events();
    assert.equal(events[events.length - 1].module, 'job', 'the job event comes last');
    b = await spawnBackup(args(), { dataDir: b.dataDir });
    await holdsAll(b);
    const versions = (await b.get(`/stacks/${stack.api_key}/entities/entry/${one.uid}/versions`)).body.versions as any[];
    assert.deepEqual(versions.map((v) => v.action), ['create', 'publish']);
    const status = (await b.get('/status')).body;
    assert.deepEqual(status.stacks.find((s: any) => s.api_key === stack.api_key).gaps, []);
  });

  it('reports events it holds from deliveries that the feed does not return', async () => {
    // A stack's events are interleaved with other stacks' in the global seq: a seq another stack
    // used can never be in this stack's feed. A delivery claiming it is what a pruned feed looks like.
    const other = await h.newStack('Other');
    const otherApi = stackApi(h, other);
    await otherApi.post('/v3/content_types', { content_type: { uid: 'note', title: 'Note', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text' }] } });
    const foreignSeq = (await otherApi.events())[0].seq;
    const payload = {
      event: 'update',
      module: 'entry',
      api_key: stack.api_key,
      data: { entry: { uid: 'bltvanished00000001', title: 'Vanished', locale: 'en-us', content_type_uid: 'page', tags: [], _version: 2 }, content_type: { uid: 'page' } },
      triggered_at: new Date().toISOString(),
      branch: { uid: 'main', alias: [] },
      seq: foreignSeq,
    };
    const d = signedDelivery(secret, payload);
    const res = await fetch(`${b.url}/deliveries`, { method: 'POST', headers: d.headers, body: d.body });
    assert.equal(res.status, 201);
    await api.post('/v3/content_types/page/entries', { entry: { title: 'Later' } });

    const gap = await until('the backup to report the missing event', async () => {
      const s = (await b.get('/status')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      return s.gaps.find((g: any) => g.kind === 'events_missing');
    });
    assert.equal(gap.from_seq, foreignSeq);
    assert.match(gap.detail, new RegExp(`no longer returns events ${foreignSeq}\\b`));
  });

  it('holds a publish scheduled after its last catch-up within its queue interval, no catch-up needed (scheduling records no event)', async () => {
    if (!((await api.get('/v3/environments')).environments as any[]).some((e) => e.name === 'production')) await api.post('/v3/environments', { environment: { name: 'production' } });
    const page = (await api.post('/v3/content_types/page/entries', { entry: { title: 'Scheduled later' } })).entry;
    // Catch-ups an hour apart: only the queue interval can bring the schedule in.
    const q = await spawnBackup(['--secret', secret, '--source', h.url, '--token', stack.token, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '1h', '--queue-interval', '300ms']);
    try {
      const stackOf = async () => (await q.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      const caughtUpAt = (await until('the first catch-up', async () => (await stackOf())?.caught_up_at)) as string;
      const at = new Date(Date.now() + 24 * 3600_000).toISOString();
      await api.post(`/v3/content_types/page/entries/${page.uid}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: at });
      const db = new Database(join(q.dataDir, 'backup.db'), { readonly: true });
      try {
        const held = await until('the backup to hold the schedule', async () => {
          const row = db.prepare("SELECT queue FROM publish_queues WHERE api_key = ? AND branch = 'main'").get(stack.api_key) as { queue: string } | undefined;
          return (JSON.parse(row?.queue ?? '[]') as any[]).find((x) => x.entry?.uid === page.uid);
        });
        assert.deepEqual([held.action, held.environments, Date.parse(held.scheduled_at)], ['publish', ['production'], Date.parse(at)]);
        // A branch made since that catch-up: its queue is read within the interval too.
        await api.post('/v3/stacks/branches', { branch: { uid: 'later', source: 'main' } });
        const r = await h.request('POST', `/v3/content_types/page/entries/${page.uid}/unpublish`, {
          headers: { ...api.headers, branch: 'later' },
          body: { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: at },
        });
        assert.ok(r.status < 300, JSON.stringify(r.body));
        const inBranch = await until('the backup to hold the new branch\'s schedule', async () => {
          const row = db.prepare("SELECT queue FROM publish_queues WHERE api_key = ? AND branch = 'later'").get(stack.api_key) as { queue: string } | undefined;
          return (JSON.parse(row?.queue ?? '[]') as any[]).find((x) => x.entry?.uid === page.uid);
        });
        assert.equal(inBranch.action, 'unpublish');
      } finally {
        db.close();
      }
      assert.equal((await stackOf()).caught_up_at, caughtUpAt, 'no catch-up ran meanwhile');
    } finally {
      await q.stop();
    }
  });
});

describe('a source that cannot be reached', () => {
  let b: SpawnedBackup;
  before(async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    b = await spawnBackup(['--secret', testSecret(5), '--source', `http://127.0.0.1:${port}`, '--token', 'some-token', '--api-key', 'bltunreachable0001']);
  });
  after(() => b.stop());

  it('is reported as a gap in the status API, naming the stack and the reason', async () => {
    const gap = await until('a gap to be reported', async () => {
      const s = (await b.get('/status')).body.stacks.find((x: any) => x.api_key === 'bltunreachable0001');
      return s?.gaps[0];
    });
    assert.equal(gap.kind, 'source_unreachable');
    assert.match(gap.detail, /unreachable \(ECONNREFUSED\)\. Events after seq 0 may be missing/);
    // The log line travels through the child's stdout pipe and may arrive after the status answer.
    await until('the warning in the log', async () => b.output.some((l) => /catch-up failed; the backup may have a gap/.test(l)) || undefined);
  });
});

/**
 * settings_fetched_at tells a caller that the backup holds the stack's settings (branches, how each
 * was made, environments, locales, Contentful state, publish queues) as the source had them at that
 * time: one waiting for it to pass a moment, as a restore made after a change does, must not get
 * settings read before that moment. The reads take several requests, so the stamp is when they
 * began. (Stamped when they ended, a branch made during a slow read was missing from a catch-up
 * that said it had read the stack since: the restore made the branch and brought none of its
 * content.)
 */
describe("the time a catch-up's settings are stamped with", () => {
  let h: SpawnedHerald;
  let proxy: Server;
  let b: SpawnedBackup;
  let stack: { api_key: string; token: string };
  /** When the source (through the proxy) got the catch-up's first read of the branch list, ms. */
  let branchesAt = 0;

  before(async () => {
    h = await spawnHerald();
    stack = await h.newStack('Settings stamp');
    // Herald behind a proxy that answers the locales a second late: the settings' reads then end
    // well after the branch list was read.
    proxy = createHttpServer(async (req, res) => {
      if (req.url!.startsWith('/v3/stacks/branches') && branchesAt === 0) branchesAt = Date.now();
      if (req.url!.startsWith('/v3/locales')) await new Promise((r) => setTimeout(r, 1_000));
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection')) as Record<string, string>;
      const r = await fetch(h.url + req.url, { method: req.method, headers });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    b = await spawnBackup(['--secret', testSecret(5), '--source', `http://127.0.0.1:${port}`, '--token', stack.token, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '60s']);
  });
  after(async () => {
    await b?.stop();
    proxy?.close();
    await h?.close();
  });

  it('is when the reads began: no later than the source was asked for the branch list', async () => {
    const fetchedAt = await until('the first catch-up to read the settings', async () => {
      const s = (await b.get('/stacks')).body.stacks.find((x: any) => x.api_key === stack.api_key);
      return s?.settings_fetched_at ? Date.parse(s.settings_fetched_at) : undefined;
    });
    assert.ok(branchesAt > 0, 'the catch-up read the branch list through the proxy');
    assert.ok(fetchedAt <= branchesAt, `settings_fetched_at ${new Date(fetchedAt).toISOString()} is after the branch list was asked for at ${new Date(branchesAt).toISOString()}`);
  });
});

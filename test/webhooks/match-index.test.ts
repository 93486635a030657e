import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { webhookExecutions } from '../../src/delivery/queue/index.ts';
import type { HeraldEvent } from '../../src/events/event.ts';
import type { Db } from '../../src/store/db.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { createWebhookIndex } from '../../src/webhooks/match-index.ts';
import { createWebhook, deleteWebhook, getWebhook, setDisabled, updateWebhook } from '../../src/webhooks/store.ts';
import type { Webhook } from '../../src/webhooks/webhook.ts';
import { webhookDoc } from '../helpers/delivery-fixtures.ts';

let seq = 0;
const event = (over: Partial<HeraldEvent> = {}): HeraldEvent => ({
  seq: ++seq,
  api_key: 'blt_stack_a',
  branch: 'main',
  module: 'entry',
  action: 'update',
  uid: 'blt_e1',
  content_type_uid: 'blog',
  locale: 'en-us',
  environment: null,
  actor: 'admin',
  data: {},
  created_at: Date.now(),
  ...over,
});

let n = 0;
/** A webhook of stack a on entry updates, with a uid and name of its own (the rest: webhookDoc's). */
function webhook(over: Partial<Webhook> = {}): Webhook {
  const now = Date.now();
  n++;
  return webhookDoc({ uid: `blt_wh${n}`, api_key: 'blt_stack_a', name: `hook ${n}`, channels: ['content_types.entries.update'], signing_secrets: [], created_at: now, updated_at: now, ...over });
}

describe('the webhook index, over a real SQLite store', () => {
  let dir: string;
  let db: Db;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-index-'));
    db = await openSqlite(join(dir, 'herald.db'));
    for (const key of ['blt_stack_a', 'blt_stack_b']) {
      await db.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, 'x', '{}', 0, 0)", [key]);
    }
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh stack with these webhooks, and a fresh index. */
  async function setup(hooks: Webhook[]) {
    await db.run("DELETE FROM webhooks");
    for (const w of hooks) await db.tx((tx) => createWebhook(tx, w));
    return createWebhookIndex();
  }

  const uids = async (index: ReturnType<typeof createWebhookIndex>, e: HeraldEvent) =>
    (await db.tx(async (tx) => index.match(tx, e))).map((m) => m.webhook.uid);

  it('matches by channel and reports the channel that matched', async () => {
    const a = webhook({ channels: ['assets.publish', 'content_types.blog.entries.update'] });
    const b = webhook({ channels: ['Entry.save'] });
    const c = webhook({ channels: ['content_types.news.entries.update'] });
    const index = await setup([a, b, c]);
    const matches = await db.tx(async (tx) => index.match(tx, event()));
    assert.deepEqual(
      matches.map((m) => [m.webhook.uid, m.channel]),
      [
        [a.uid, 'content_types.blog.entries.update'],
        [b.uid, 'Entry.save'],
      ],
    );
    assert.deepEqual(await uids(index, event({ action: 'publish' })), []);
  });

  it('matches only events of the branches a webhook is scoped to', async () => {
    const main = webhook();
    const staging = webhook({ branches: ['staging'] });
    const both = webhook({ branches: ['main', 'staging'] });
    const index = await setup([main, staging, both]);
    assert.deepEqual(await uids(index, event()), [main.uid, both.uid]);
    assert.deepEqual(await uids(index, event({ branch: 'staging' })), [staging.uid, both.uid]);
    assert.deepEqual(await uids(index, event({ branch: 'dev' })), []);
  });

  it('applies conditions after channels', async () => {
    const prod = webhook({ channels: ['*.publish'], conditions: [{ equals: [{ doc: 'environment' }, 'production'] }] });
    const notFr = webhook({ channels: ['*.publish'], conditions: [{ not: { equals: [{ doc: 'locale' }, 'fr-fr'] } }] });
    const index = await setup([prod, notFr]);
    assert.deepEqual(await uids(index, event({ action: 'publish', environment: 'production' })), [prod.uid, notFr.uid]);
    assert.deepEqual(await uids(index, event({ action: 'publish', environment: 'staging', locale: 'fr-fr' })), []);
    assert.deepEqual(await uids(index, event({ action: 'publish', environment: 'staging' })), [notFr.uid]);
  });

  it("never matches another stack's webhooks", async () => {
    const other = webhook({ api_key: 'blt_stack_b' });
    const index = await setup([other]);
    assert.deepEqual(await uids(index, event()), []);
    assert.deepEqual(await uids(index, event({ api_key: 'blt_stack_b' })), [other.uid]);
  });

  it('skips disabled webhooks, and sees changes once invalidated', async () => {
    const w = webhook();
    const index = await setup([w]);
    assert.deepEqual(await uids(index, event()), [w.uid]);

    await db.tx((tx) => setDisabled(tx, w.uid, true, 'circuit breaker', webhookExecutions));
    // Cached until invalidated: the index is rebuilt only when told.
    assert.deepEqual(await uids(index, event()), [w.uid]);
    index.invalidate('blt_stack_a');
    assert.deepEqual(await uids(index, event()), []);

    await db.tx((tx) => setDisabled(tx, w.uid, false, null, webhookExecutions));
    index.invalidate('blt_stack_a');
    assert.deepEqual(await uids(index, event()), [w.uid]);

    const stored = (await getWebhook(db, w.uid))!;
    await db.tx((tx) => updateWebhook(tx, { ...stored, channels: ['assets.delete'] }, Date.now(), webhookExecutions));
    index.invalidate('blt_stack_a');
    assert.deepEqual(await uids(index, event()), []);
    assert.deepEqual(await uids(index, event({ module: 'asset', action: 'delete', content_type_uid: null })), [w.uid]);

    await db.tx((tx) => deleteWebhook(tx, 'blt_stack_a', w.uid, webhookExecutions));
    index.invalidate('blt_stack_a');
    assert.deepEqual(await uids(index, event({ module: 'asset', action: 'delete', content_type_uid: null })), []);
  });

  it('does not cache a load that raced with an invalidation', async () => {
    const w = webhook();
    const index = await setup([w]);
    // Start a match whose load reads the old state, invalidate while it is in flight, then change.
    const racing = db.tx(async (tx) => {
      const p = index.match(tx, event());
      index.invalidate('blt_stack_a');
      return p;
    });
    assert.deepEqual((await racing).map((m) => m.webhook.uid), [w.uid]);
    await db.tx((tx) => setDisabled(tx, w.uid, true, null, webhookExecutions));
    assert.deepEqual(await uids(index, event()), []);
  });

  it('re-enabling resets the failure count and clears the reason', async () => {
    const w = webhook();
    await setup([w]);
    await db.run('UPDATE webhooks SET consecutive_failures = 10 WHERE uid = ?', [w.uid]);
    await db.tx((tx) => setDisabled(tx, w.uid, true, 'Disabled after 10 failed calls', webhookExecutions));
    assert.equal((await getWebhook(db, w.uid))!.disabled_reason, 'Disabled after 10 failed calls');
    await db.tx((tx) => setDisabled(tx, w.uid, false, null, webhookExecutions));
    const row = await db.get<{ consecutive_failures: number; disabled_reason: string | null }>('SELECT consecutive_failures, disabled_reason FROM webhooks WHERE uid = ?', [w.uid]);
    assert.deepEqual({ ...row }, { consecutive_failures: 0, disabled_reason: null });
  });
});

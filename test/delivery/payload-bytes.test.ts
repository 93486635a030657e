import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { cloudEventAttributes, cloudEventBody } from '../../src/delivery/formats/cloudevents.ts';
import { contentstackBody, contentstackPayload } from '../../src/delivery/formats/contentstack.ts';
import type { HeraldEvent } from '../../src/events/event.ts';
import { createWebhook, emit, emitTogether, until } from '../helpers/engine.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';

/**
 * Payload bodies are built from the event's stored data text (events/record.ts dataJson) rather
 * than by serialising the parsed data again: the bytes must be those of JSON.stringify of the
 * payload object, whatever the data holds.
 */
const TRICKY: Record<string, unknown>[] = [
  { entry: { uid: 'blt1', title: 'plain' } },
  // Integer-like keys come first in an object whatever order they were written in.
  { entry: { uid: 'blt2', b: 1, 10: 'ten', 2: 'two', a: { 1: [], z: {} } } },
  { entry: { uid: 'blt3', title: 'émoji 🎉 "quoted" back\\slash\n\ttab \u0000 nul \u2028 sep', lone: 'x\ud800y' } },
  { entry: { uid: 'blt4', n: [0, -0, 1e21, 1e-7, 0.1 + 0.2, -1.5e300, 123456789012345680000] } },
  { entry: { uid: 'blt5', ['__proto__']: { polluted: true }, constructor: 'c', nested: [[[]], [{}], null, true, false] } },
  { entry: { uid: 'blt6', title: 'dates', at: new Date(Date.UTC(2026, 0, 2)) as unknown }, content_type: { uid: 'blog', title: 'Blog', schema: [] } },
  { asset: { uid: 'blt7', filename: 'a.png', url: '/a.png', tags: [] } },
  {},
];

/** The bytes as the payload object serialises (how bodies were built before splicing). */
function expected(e: HeraldEvent) {
  const full = contentstackPayload(e, { concise: false });
  const concise = contentstackPayload(e, { concise: true });
  return {
    full: JSON.stringify(full),
    concise: JSON.stringify(concise),
    structured: JSON.stringify({ ...cloudEventAttributes(e), data: full }),
    structuredConcise: JSON.stringify({ ...cloudEventAttributes(e), data: concise }),
  };
}

describe('payload bytes when data is spliced from the stored event', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald();
  });
  after(() => h.close());

  it('are the bytes of the payload serialised, for every format and data shape, read back from the store', async () => {
    const stack = await h.newStack();
    const recorded: HeraldEvent[] = [];
    for (const [i, data] of TRICKY.entries()) {
      const versions = i === 1 ? { before: { uid: 'blt2', title: 'old', n: 1 }, after: { uid: 'blt2', title: 'new ✓', n: 2 } } : undefined;
      recorded.push(await emit(h, stack, { uid: `bltBytes${i}`, data, versions }));
    }
    const read = await h.herald.events.list(h.herald.db, stack.api_key, 0, 100);
    assert.equal(read.length, TRICKY.length);
    assert.ok(read[1].changes, 'one event carries changes');
    // A debounced delivery's event lists the seqs it folded (as a probe's claim sets them).
    const folded = await h.herald.events.list(h.herald.db, stack.api_key, 0, 100);
    for (const e of folded) e.folded_seqs = [3, 4];
    for (const [i, stored] of read.entries()) {
      assert.equal(JSON.stringify(stored.data), JSON.stringify(recorded[i].data), `event ${i}: stored as recorded`);
      for (const e of [stored, folded[i]]) {
        // The same event with its data as a plain object (not read from a row): serialised whole.
        const want = expected({ ...e, data: JSON.parse(JSON.stringify(e.data)) });
        const what = `event ${i}${e === stored ? '' : ', folded'}`;
        assert.equal(contentstackBody(e, { concise: false }), want.full, `${what}: full`);
        assert.equal(contentstackBody(e, { concise: true }), want.concise, `${what}: concise`);
        assert.equal(cloudEventBody(e, 'binary', false), want.full, `${what}: CloudEvents binary`);
        assert.equal(cloudEventBody(e, 'structured', false), want.structured, `${what}: CloudEvents structured`);
        assert.equal(cloudEventBody(e, 'structured', true), want.structuredConcise, `${what}: CloudEvents structured, concise`);
      }
      // Events not read from a row (as recorded, test events) serialise their data.
      assert.equal(contentstackBody(recorded[i], { concise: false }), JSON.stringify(contentstackPayload(recorded[i], { concise: false })));
    }
  });

  it('setting data on an event read from the store sends the new data', async () => {
    const stack = await h.newStack();
    await emit(h, stack, { uid: 'bltSet', data: { entry: { uid: 'bltSet', title: 'stored' } } });
    const [e] = await h.herald.events.list(h.herald.db, stack.api_key, 0, 1);
    assert.equal((e.data.entry as { title: string }).title, 'stored', 'parsed when read');
    e.data = { entry: { uid: 'bltSet', title: 'changed' } };
    assert.match(contentstackBody(e, { concise: false }), /"title":"changed"/);
  });

  it("reach each webhook of a fan-out in its own format's bytes, signed over them, whatever the others take", async () => {
    // The dispatcher keeps an event's body with its bytes per format and payload kind (a fan-out's
    // attempts share them): a webhook must never get another format's bytes, or text and bytes of
    // two bodies (multi-byte characters make their lengths differ).
    const rx = await startReceiver();
    try {
      const stack = await h.newStack();
      const kinds = {
        full: {},
        concise: { concise_payload: true },
        binary: { format: 'cloudevents' },
        structured: { format: 'cloudevents', format_options: { mode: 'structured' } },
        structuredConcise: { format: 'cloudevents', format_options: { mode: 'structured' }, concise_payload: true },
      } as const;
      const hooks = new Map<string, { kind: keyof typeof kinds; secret: string }>();
      for (const [kind, over] of Object.entries(kinds) as [keyof typeof kinds, Record<string, unknown>][]) {
        const hook = await createWebhook(h, stack, `${rx.url}/${kind}`, { channels: ['content_types.entries.update'], ...over });
        hooks.set(`/${kind}`, { kind, secret: hook.signing_secret });
      }
      const events = await emitTogether(
        h,
        stack,
        Array.from({ length: 6 }, (_, i) => ({ uid: `bltFan${i}`, data: { entry: { uid: `bltFan${i}`, title: 'é'.repeat(i * 40) + ` ${i} 🎉` } } })),
      );
      await rx.waitFor(events.length * hooks.size, 20_000);
      const want = new Map<string, Set<string>>();
      for (const e of events) {
        const bodies = expected(e);
        for (const [path, { kind }] of hooks) {
          const body = kind === 'binary' ? bodies.full : bodies[kind];
          if (!want.has(path)) want.set(path, new Set());
          want.get(path)!.add(body);
        }
      }
      for (const got of rx.received) {
        const hook = hooks.get(got.url)!;
        assert.ok(want.get(got.url)!.has(got.body), `${hook.kind}: a body of this kind, got ${got.body.slice(0, 200)}`);
        want.get(got.url)!.delete(got.body);
        new StandardWebhook(hook.secret).verify(got.body, {
          'webhook-id': String(got.headers['webhook-id']),
          'webhook-timestamp': String(got.headers['webhook-timestamp']),
          'webhook-signature': String(got.headers['webhook-signature']),
        });
      }
      for (const [path, left] of want) assert.equal(left.size, 0, `${path}: every event's body once`);
    } finally {
      await rx.close();
    }
  });

  it('reach the receiver as those bytes, signed over them', async () => {
    const rx = await startReceiver();
    try {
      const stack = await h.newStack();
      const hook = await createWebhook(h, stack, rx.url + '/bytes', { channels: ['content_types.entries.update'] });
      const recorded = await emit(h, stack, { uid: 'bltWire', data: TRICKY[2] });
      await rx.waitFor(1);
      const [got] = rx.received;
      assert.equal(got.body, JSON.stringify(contentstackPayload(recorded, { concise: false })));
      const verified = new StandardWebhook(hook.signing_secret).verify(got.body, {
        'webhook-id': String(got.headers['webhook-id']),
        'webhook-timestamp': String(got.headers['webhook-timestamp']),
        'webhook-signature': String(got.headers['webhook-signature']),
      });
      assert.deepEqual(verified, JSON.parse(got.body));
      // The activity log rebuilds the same body.
      const logged = await until(async () => {
        const r = await h.request('GET', `/v3/webhooks/${hook.uid}/executions?limit=1`, { headers: { api_key: stack.api_key, authorization: stack.token } });
        return r.body.webhooks?.[0]?.request_details?.[0]?.request?.body as string | undefined;
      }, 5000, 'the logged attempt');
      assert.equal(logged, got.body);
    } finally {
      await rx.close();
    }
  });
});

describe('payload bytes of consecutive events', () => {
  // contentstackBody keeps the last event's short fields' JSON and isoTime the last time's text:
  // an event that differs from the one before in any one of them must get its own.
  const base: HeraldEvent = {
    seq: 7,
    api_key: 'bltstackA',
    branch: 'main',
    module: 'entry',
    action: 'update',
    uid: 'bltOne',
    content_type_uid: 'blog',
    locale: 'en-us',
    actor: 'cs_token1',
    actor_name: 'Deploy "bot"',
    created_at: Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    data: { entry: { uid: 'bltOne', title: 'one' } },
  };
  const changed: Array<[string, Partial<HeraldEvent>]> = [
    ['the same event', {}],
    ['another stack', { api_key: 'bltstackB' }],
    ['another branch', { branch: 'dev' }],
    ['another action', { action: 'publish' }],
    ['another module', { module: 'asset', data: { asset: { uid: 'bltA', filename: 'a.png' } } }],
    ['another actor', { actor: 'admin' }],
    ['Herald as the actor', { actor: 'herald' }],
    ["an actor's name unknown", { actor_name: null }],
    ["an actor's name absent", { actor_name: undefined }],
    ["another actor's name", { actor_name: 'ü東 name' }],
    ['the next millisecond, another day and year', { created_at: Date.UTC(2027, 0, 1) }],
    ['a millisecond before', { created_at: Date.UTC(2026, 11, 31, 23, 59, 59, 998) }],
    ['a time before 1970', { created_at: -1 }],
    ['changes', { changes: { paths: ['title'], fields: [{ path: 'title', old: 'a', new: 'b' }], truncated: false } }],
    ['folded seqs', { folded_seqs: [3, 4] }],
    ['a branch that needs escaping', { branch: 'a"b\\c\u2028' }],
  ];

  it('are each its own event\'s, whichever one field changed since the last', () => {
    // Every order: each case after each other one.
    for (const [firstWhat, first] of changed) {
      for (const [what, over] of changed) {
        for (const [w, e] of [[firstWhat, first], [what, over]] as const) {
          const event = { ...base, ...e };
          assert.equal(contentstackBody(event, { concise: false }), JSON.stringify(contentstackPayload(event, { concise: false })), `${w} (after ${firstWhat})`);
        }
      }
    }
  });

  it('carry triggered_at as toISOString writes it, the same millisecond twice or not', () => {
    const times = [0, 0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 86_400_000, Date.UTC(2026, 11, 7, 2, 31, 5, 42), Date.UTC(9999, 11, 31, 23, 59, 59, 999), 1.5, 0];
    for (const at of times) {
      const payload = JSON.parse(contentstackBody({ ...base, created_at: at }, { concise: false })) as { triggered_at: string };
      assert.equal(payload.triggered_at, new Date(at).toISOString(), String(at));
    }
  });
});

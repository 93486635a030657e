import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { DeadlineWheel } from '../../src/delivery/deadlines.ts';
import { pendingDeadlines, send } from '../../src/delivery/send.ts';

/** Sends one attempt to `url` with a 300 ms deadline and checks it was cut then, as a timeout. */
async function cutAt300(agent: Agent, url: string) {
  const t0 = Date.now();
  const r = await send(agent, { url, headers: { 'content-type': 'application/json' }, body: '{}' }, 300);
  const took = Date.now() - t0;
  assert.equal(r.outcome, 'timeout');
  assert.equal(r.reason, 'no complete response within 300 ms');
  assert.ok(took >= 295 && took < 3_000, `cut after ${took} ms`);
}

/** A wheel on a clock the test moves; its timer is left alone (sweep() is called by hand). */
function wheel(tickMs = 10) {
  const clock = { now: 1_000 };
  return { clock, w: new DeadlineWheel(tickMs, () => clock.now) };
}

describe('attempt deadlines on one timer (deadlines.ts)', () => {
  it('fires a deadline at its time, never before, and at most one tick after', () => {
    const { clock, w } = wheel(10);
    const d = w.start(95); // due at 1095: the tick ending at 1100
    let fired = 0;
    d.on('abort', () => fired++);
    clock.now = 1094;
    w.sweep();
    assert.equal(d.aborted, false, 'not before its time');
    clock.now = 1099;
    w.sweep();
    assert.equal(d.aborted, false, 'its tick has not passed');
    clock.now = 1100;
    w.sweep();
    assert.equal(d.aborted, true);
    assert.equal(fired, 1);
    assert.equal((d.reason as Error).name, 'TimeoutError');
    w.sweep();
    assert.equal(fired, 1, 'once');
    assert.equal(w.pending, 0);
  });

  it("on today's clock (ms since the epoch): the same timing, and ticks that are small integers", () => {
    const t0 = 1_796_688_872_391; // not on a tick's edge
    const clock = { now: t0 };
    const w = new DeadlineWheel(10, () => clock.now);
    const d = w.start(95); // due at t0 + 95: the tick ending at t0 + 99
    // Counted from the wheel's start, not the epoch: a tick past 2^30 was a number object per
    // deadline (V8's small integers are 31 bits and a field holding a larger one boxes it).
    assert.ok(Number.isInteger(d.tick) && d.tick > 0 && d.tick < 2 ** 30, `tick ${d.tick}`);
    clock.now = t0 + 94;
    w.sweep();
    assert.equal(d.aborted, false, 'not before its time');
    clock.now = t0 + 98;
    w.sweep();
    assert.equal(d.aborted, false, 'its tick has not passed');
    clock.now = t0 + 99;
    w.sweep();
    assert.equal(d.aborted, true, 'at most one tick late');
    // A clock set back before the wheel's start: a new deadline still fires, never early.
    clock.now = t0 - 5_000;
    const e = w.start(20);
    clock.now = t0 - 4_981;
    w.sweep();
    assert.equal(e.aborted, false);
    clock.now = t0 + 200;
    w.sweep();
    assert.equal(e.aborted, true);
    assert.equal(w.pending, 0);
  });

  it('an ended deadline never fires, and the wheel holds nothing once all ended', () => {
    const { clock, w } = wheel(10);
    const ds = Array.from({ length: 100 }, (_, i) => w.start(50 + i));
    for (const d of ds.slice(0, 99)) w.end(d);
    assert.equal(w.pending, 1);
    clock.now += 10_000; // a long stall: every passed bucket fires at once
    w.sweep();
    assert.deepEqual(
      ds.map((d) => d.aborted),
      [...Array(99).fill(false), true],
    );
    assert.equal(w.pending, 0);
    w.end(ds[99]); // ending a fired one is harmless
    assert.equal(w.pending, 0);
  });

  it('ends taken in any order, with starts between, leave exactly the others to fire, in the order they started', () => {
    const { clock, w } = wheel(10);
    // Three ticks' worth, interleaved: every third started ends, some before later ones start.
    const ds = [];
    const fired: number[] = [];
    for (let i = 0; i < 90; i++) {
      const d = w.start(50 + (i % 3) * 10);
      d.on('abort', () => fired.push(i));
      ds.push(d);
      if (i % 7 === 6) w.end(ds[i - 3]!);
    }
    for (let i = 89; i >= 0; i -= 5) w.end(ds[i]!);
    w.end(ds[4]!); // twice: harmless
    w.end(ds[4]!);
    const ended = new Set([...Array.from({ length: 90 }, (_, i) => i).filter((i) => i % 7 === 6).map((i) => i - 3), ...Array.from({ length: 18 }, (_, k) => 89 - 5 * k), 4]);
    assert.equal(w.pending, 90 - ended.size);
    clock.now += 1_000;
    w.sweep();
    const left = Array.from({ length: 90 }, (_, i) => i).filter((i) => !ended.has(i));
    // Bucket by bucket (the ticks in order), each bucket in the order its deadlines started.
    assert.deepEqual(fired, [0, 1, 2].flatMap((r) => left.filter((i) => i % 3 === r)));
    assert.equal(w.pending, 0);
  });

  it("a deadline's listener that ends another of the same tick, or starts a new one, leaves the wheel whole", () => {
    const { clock, w } = wheel(10);
    const a = w.start(50);
    const b = w.start(50);
    const c = w.start(50);
    let later = null as ReturnType<typeof w.start> | null;
    a.on('abort', () => {
      w.end(b); // ended by what the first one's abort did: it does not fire
      later = w.start(500);
    });
    clock.now += 100;
    w.sweep();
    assert.deepEqual([a.aborted, b.aborted, c.aborted], [true, false, true]);
    assert.equal(w.pending, 1, 'the one started while firing waits for its own time');
    assert.equal(later!.aborted, false);
    clock.now += 1_000;
    w.sweep();
    assert.equal(later!.aborted, true);
    assert.equal(w.pending, 0);
  });

  it('a listener removed before the deadline is not called (what undici does when the response ends)', () => {
    const { clock, w } = wheel(10);
    const d = w.start(5);
    let called = false;
    const l = () => (called = true);
    d.once('abort', l);
    d.removeListener('abort', l);
    clock.now += 100;
    w.sweep();
    assert.equal(d.aborted, true);
    assert.equal(called, false);
  });

  it('cuts a real request whose receiver sends its headers and then never ends the body, at the deadline', async () => {
    const trickle: Server = createServer((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    try {
      const url = `http://127.0.0.1:${(trickle.address() as AddressInfo).port}/`;
      await cutAt300(agent, url);
    } finally {
      await agent.destroy();
      trickle.closeAllConnections();
      trickle.close();
    }
  });

  it('cuts a real request whose receiver keeps trickling its body, at the total deadline (no idle limit is what cuts it)', async () => {
    // A byte every 50 ms: an idle (per-chunk) limit of 300 ms would never fire; send() passes
    // undici no limits of its own, so the deadline alone ends it.
    const trickle: Server = createServer((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const every = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(every));
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    try {
      await cutAt300(agent, `http://127.0.0.1:${(trickle.address() as AddressInfo).port}/`);
    } finally {
      await agent.destroy();
      trickle.closeAllConnections();
      trickle.close();
    }
  });

  it('cuts a real request whose receiver never answers, at the deadline, as a timeout', async () => {
    const silent: Server = createServer(() => {}); // never answers
    const quick: Server = createServer((_q, res) => res.end('ok'));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => quick.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      await cutAt300(agent, url);
      // Attempts that end in time take their deadlines with them: none is left to fire later.
      const q = `http://127.0.0.1:${(quick.address() as AddressInfo).port}/`;
      const all = await Promise.all(Array.from({ length: 50 }, () => send(agent, { url: q, headers: {}, body: '{}' }, 30_000)));
      assert.deepEqual(new Set(all.map((a) => a.outcome)), new Set(['success']));
      assert.equal(pendingDeadlines(), 0);
    } finally {
      await agent.destroy();
      for (const s of [silent, quick]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveLimit, globalShare, LIST_DEPTH_MAX, LIST_HORIZON_MS, listDepth, type Observation } from '../../src/delivery/concurrency.ts';

const ok = (duration_ms: number, inFlight: number): Observation => ({ outcome: 'success', status_code: 200, duration_ms, inFlight });
const status = (code: number, duration_ms = 5): Observation => ({ outcome: 'http_error', status_code: code, duration_ms, inFlight: 1 });

/** Feeds `n` observations 1 ms apart from `t0`; returns the time after the last. */
function feed(l: AdaptiveLimit, n: number, o: () => Observation, t0 = 0): number {
  for (let i = 0; i < n; i++) l.observe(o(), t0 + i);
  return t0 + n;
}

describe('adaptive concurrency per webhook', () => {
  it('starts at 16 (the old fixed cap) or the maximum when lower, and stays within 1..max', () => {
    assert.equal(new AdaptiveLimit({ max: 256 }).limit, 16);
    assert.equal(new AdaptiveLimit({ max: 4 }).limit, 4);
    assert.equal(new AdaptiveLimit({ max: 256, initial: 0 }).limit, 1);
  });

  it('grows while a healthy receiver is kept busy: doubling-fast at first, up to the maximum', () => {
    const l = new AdaptiveLimit({ max: 128 });
    feed(l, 16, () => ok(20, l.limit));
    assert.equal(l.limit, 32, 'slow start: one more per success while the limit is used');
    feed(l, 500, () => ok(20, l.limit), 100);
    assert.equal(l.limit, 128, 'never past the maximum');
  });

  it('does not grow when the webhook does not use half its limit (the limit is not what holds it back)', () => {
    const l = new AdaptiveLimit({ max: 128 });
    feed(l, 1000, () => ok(20, 3));
    assert.equal(l.limit, 16);
  });

  it('halves on overload (timeout, 429, 503, refused), once per burst', () => {
    for (const o of [
      { outcome: 'timeout', status_code: null, duration_ms: 10_000, inFlight: 16 },
      { outcome: 'refused', status_code: null, duration_ms: 1, inFlight: 16 },
      status(429),
      status(503),
    ] as Observation[]) {
      const l = new AdaptiveLimit({ max: 128 });
      // 16 failures within the cooldown: one signal.
      for (let i = 0; i < 16; i++) l.observe(o, 1000 + i);
      assert.equal(l.limit, 8, `${o.outcome} ${o.status_code}`);
      l.observe(o, 1200);
      assert.equal(l.limit, 4, 'another burst later halves again');
    }
  });

  it('a receiver that keeps failing gets one call at a time, and earns more back once it answers', () => {
    const l = new AdaptiveLimit({ max: 64 });
    for (let t = 0; t < 2000; t += 150) l.observe(status(503), t);
    assert.equal(l.limit, 1);
    // Healthy again: after slow start ended, growth is additive (about one per round of `limit`).
    let t = 3000;
    for (let i = 0; i < 200; i++) l.observe(ok(20, l.limit), t++);
    assert.ok(l.limit > 10 && l.limit < 64, `grew back gradually: ${l.limit}`);
  });

  it('takes a tenth off when latency rises well above the receiver baseline, and not for jitter', () => {
    const l = new AdaptiveLimit({ max: 128, initial: 40 });
    feed(l, 50, () => ok(20, 1)); // baseline 20 ms, not limited: no growth
    assert.equal(l.baseline, 20);
    l.observe(ok(45, 1), 1000); // within 2 x 20 + 10 ms: jitter
    assert.equal(l.limit, 40);
    l.observe(ok(200, 40), 2000); // queueing
    assert.equal(l.limit, 36);
  });

  it("does not read this process's own busy loop as the receiver queueing", () => {
    const l = new AdaptiveLimit({ max: 128, initial: 40 });
    feed(l, 50, () => ({ ...ok(1, 1), idleMs: 1 })); // an instant receiver: baseline 1 ms
    assert.equal(l.baseline, 1);
    // 60 ms out, but the loop was busy for 59.5 of them (a claim round, a flush, garbage collection):
    // the answer waited for this process, the receiver answered at once.
    l.observe({ ...ok(60, 1), idleMs: 0.5 }, 1000);
    assert.equal(l.limit, 40);
    // 60 ms out with the loop idle for 55 of them: the receiver took at least 55 ms.
    l.observe({ ...ok(60, 40), idleMs: 55 }, 2000);
    assert.equal(l.limit, 36);
  });

  it('keeps its limit against a steady 20 ms receiver even when some answers found the loop busy', () => {
    const l = new AdaptiveLimit({ max: 32, initial: 32 });
    // The first answer: 21 ms out, but the loop was busy for all but 2 of them (a claim round).
    l.observe({ ...ok(21, 32), idleMs: 2 }, 0);
    // Then the receiver's usual 20-21 ms, the loop idle meanwhile: no sign of queueing.
    for (let i = 1; i <= 50; i++) l.observe({ ...ok(21, 32), idleMs: 20 }, i * 200);
    assert.equal(l.limit, 32);
    assert.ok(l.baseline! >= 20, `baseline ${l.baseline}`);
  });

  it('other 5xx answers take a tenth off; 4xx answers are not a capacity signal', () => {
    const l = new AdaptiveLimit({ max: 128, initial: 40 });
    l.observe(status(500), 0);
    assert.equal(l.limit, 36);
    const m = new AdaptiveLimit({ max: 128, initial: 40 });
    for (let i = 0; i < 50; i++) m.observe({ outcome: 'http_error', status_code: 404, duration_ms: 5, inFlight: 1 }, i * 200);
    assert.equal(m.limit, 40);
  });

  it('ignores attempts that never reached the receiver (blocked, DNS)', () => {
    const l = new AdaptiveLimit({ max: 128 });
    l.observe({ outcome: 'blocked', status_code: null, duration_ms: 0, inFlight: 16 }, 0);
    l.observe({ outcome: 'dns', status_code: null, duration_ms: 3, inFlight: 16 }, 500);
    assert.equal(l.limit, 16);
  });
});

describe('how deep a webhook lists ahead of its attempts (listDepth)', () => {
  it('lists about a second of a slow receiver: its limit, plus what the limit starts within the horizon', () => {
    assert.equal(LIST_HORIZON_MS, 1_000);
    assert.equal(listDepth(2, 2_000), 3, 'an answer every 2 s: the 2 out now and half a round more');
    assert.equal(listDepth(2, 5_000), 2, 'an answer every 5 s: only what can start now');
    assert.equal(listDepth(4, 500), 12, 'two rounds of 4 within the second, after the 4 out now');
    assert.equal(listDepth(1, 100), 11);
  });

  it('lists up to LIST_DEPTH_MAX times the limit for a fast receiver, and never less than the limit', () => {
    assert.equal(listDepth(16, 1), 16 * LIST_DEPTH_MAX, 'a 1 ms receiver: capped');
    assert.equal(listDepth(16, 0), 16 * LIST_DEPTH_MAX, 'an instant one');
    assert.equal(listDepth(16, 50), 16 * 21);
    assert.equal(listDepth(3, 60_000), 3, 'a minute per answer: the limit');
  });

  it('lists only the limit before the receiver’s pace is known', () => {
    assert.equal(listDepth(16, null), 16);
  });

  it('takes the horizon as a parameter (ms)', () => {
    assert.equal(listDepth(2, 100, 300), 8);
  });
});

describe('the receiver latency the limit keeps (AdaptiveLimit.latency)', () => {
  it('is unknown before an attempt is sent, then the first sample, then a 1/8 moving average', () => {
    const l = new AdaptiveLimit({ max: 16 });
    assert.equal(l.latency, null);
    l.observe(ok(100, 1), 0);
    assert.equal(l.latency, 100);
    l.observe(ok(900, 1), 1_000);
    assert.equal(l.latency, 200);
  });

  it('counts only the time this process was idle, and counts timeouts, but not attempts refused before sending', () => {
    const l = new AdaptiveLimit({ max: 16 });
    l.observe({ ...ok(500, 1), idleMs: 20 }, 0);
    assert.equal(l.latency, 20, 'a busy loop is not the receiver’s time');
    l.observe({ outcome: 'blocked', status_code: null, duration_ms: 9_000, inFlight: 1 }, 1);
    l.observe({ outcome: 'dns', status_code: null, duration_ms: 9_000, inFlight: 1 }, 2);
    assert.equal(l.latency, 20);
    l.observe({ outcome: 'timeout', status_code: null, duration_ms: 8_020, inFlight: 1 }, 3);
    assert.equal(l.latency, 1_020);
  });

  it('before the first answer, expects at least the idle time since the limit was made', () => {
    const l = new AdaptiveLimit({ max: 16, since: 1_000 });
    assert.equal(l.latencyAt(1_000), 0, 'just made: a fast receiver lists deep from its first transaction');
    assert.equal(listDepth(l.limit, l.latencyAt(1_000)), 16 * LIST_DEPTH_MAX);
    assert.equal(l.latencyAt(3_000), 2_000, 'awaited 2 s of idle time: at least that slow');
    assert.equal(listDepth(l.limit, l.latencyAt(3_000)), 24);
    l.observe({ ...ok(50, 1), idleMs: 40 }, 0);
    assert.equal(l.latencyAt(3_000), 40, 'once answered: the measured latency');
  });

  it('follows a receiver that became slow within a few answers', () => {
    const l = new AdaptiveLimit({ max: 4 });
    feed(l, 20, () => ok(1, 1));
    assert.equal(listDepth(l.limit, l.latency), l.limit * LIST_DEPTH_MAX);
    feed(l, 12, () => ok(2_000, 1), 1_000);
    assert.ok(l.latency! > 1_500, String(l.latency));
    assert.ok(listDepth(l.limit, l.latency) < 2 * l.limit);
  });
});

describe('the share of the global cap kept for webhooks holding few slots', () => {
  it('lets a round take what is free above the reserve, for any webhook within its own limit', () => {
    assert.deepEqual(globalShare(256, 256), { slots: 224, heldAtMost: Infinity });
    assert.deepEqual(globalShare(256, 33), { slots: 1, heldAtMost: Infinity });
  });

  it('gives the reserve only to webhooks holding fewer than an eighth of it, up to that many each', () => {
    assert.deepEqual(globalShare(256, 32), { slots: 32, heldAtMost: 4 });
    assert.deepEqual(globalShare(256, 1), { slots: 1, heldAtMost: 4 });
    assert.deepEqual(globalShare(64, 8), { slots: 8, heldAtMost: 1 }, 'at least one each');
  });

  it('keeps nothing back below 8 slots in all, and gives nothing when none is free', () => {
    assert.deepEqual(globalShare(4, 4), { slots: 4, heldAtMost: Infinity });
    assert.deepEqual(globalShare(4, 1), { slots: 1, heldAtMost: Infinity });
    assert.equal(globalShare(256, 0).slots, 0);
    assert.equal(globalShare(256, -3).slots, 0, 'more held than the cap (outcomes waiting to be written): nothing');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breakerTrips, decide, outcomeOfError, outcomeOfStatus, parseRetryAfter, MAX_RETRY_AFTER_MS } from '../../src/delivery/policy.ts';

const MIN = 60_000;
const SEED = [MIN, MIN, MIN, MIN]; // the seed's policy: again after one minute, five attempts in all
const fail = (status: number | null, retryAfterMs: number | null = null) => ({
  outcome: status === null ? ('refused' as const) : outcomeOfStatus(status),
  status_code: status,
  retry_after_ms: retryAfterMs,
});

describe('retry policy', () => {
  it('succeeds on a 2xx whatever the attempt number', () => {
    assert.deepEqual(decide({ outcome: 'success', status_code: 204, retry_after_ms: null }, 5, SEED, 0), { state: 'succeeded' });
  });

  it('retries after one minute, five attempts in all, then fails', () => {
    for (let n = 1; n <= 4; n++) assert.deepEqual(decide(fail(500), n, SEED, 1000), { state: 'pending', next_attempt_at: 1000 + MIN });
    assert.deepEqual(decide(fail(500), 5, SEED, 1000), { state: 'failed' });
  });

  it('follows a configured schedule attempt by attempt', () => {
    const delays = [1000, 5000, 30_000];
    assert.equal((decide(fail(null), 1, delays, 0) as { next_attempt_at: number }).next_attempt_at, 1000);
    assert.equal((decide(fail(null), 3, delays, 0) as { next_attempt_at: number }).next_attempt_at, 30_000);
    assert.deepEqual(decide(fail(null), 4, delays, 0), { state: 'failed' });
  });

  it('makes one attempt only when the schedule is empty', () => {
    assert.deepEqual(decide(fail(503), 1, [], 0), { state: 'failed' });
  });

  it('waits at least Retry-After on 429 and 503, never less than the schedule', () => {
    assert.deepEqual(decide(fail(429, 120_000), 1, SEED, 0), { state: 'pending', next_attempt_at: 120_000 });
    assert.deepEqual(decide(fail(503, 120_000), 1, SEED, 0), { state: 'pending', next_attempt_at: 120_000 });
    assert.deepEqual(decide(fail(503, 1_000), 1, SEED, 0), { state: 'pending', next_attempt_at: MIN });
    // Retry-After on other statuses is not a promise the receiver made about load.
    assert.deepEqual(decide(fail(500, 120_000), 1, SEED, 0), { state: 'pending', next_attempt_at: MIN });
    assert.deepEqual(decide(fail(429, 10 * MAX_RETRY_AFTER_MS), 1, SEED, 0), { state: 'pending', next_attempt_at: MAX_RETRY_AFTER_MS });
  });

  it('fails at once and disables the webhook on 410 Gone', () => {
    const d = decide(fail(410), 1, SEED, 0);
    assert.equal(d.state, 'failed');
    assert.match((d as { disable: string }).disable, /410 Gone/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('120', 0), 120_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:02:00 GMT', now), 120_000);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });

  it('classifies statuses: 3xx is a failed attempt, never followed', () => {
    assert.equal(outcomeOfStatus(200), 'success');
    assert.equal(outcomeOfStatus(299), 'success');
    assert.equal(outcomeOfStatus(302), 'redirect');
    assert.equal(outcomeOfStatus(404), 'http_error');
    assert.equal(outcomeOfStatus(500), 'http_error');
  });

  it('classifies network errors into a closed set', () => {
    assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'refused');
    assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 'dns');
    assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })), 'timeout');
    assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'HERALD_BLOCKED_TARGET' })), 'blocked');
    assert.equal(outcomeOfError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'network');
  });

  it('trips the circuit breaker at the threshold, never when it is 0', () => {
    assert.equal(breakerTrips(9, 10), false);
    assert.equal(breakerTrips(10, 10), true);
    assert.equal(breakerTrips(1000, 0), false);
  });
});

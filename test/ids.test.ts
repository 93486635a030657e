import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bltUid } from '../src/ids.ts';

describe('ids', () => {
  it('makes Contentstack-style uids that never repeat, across many refills of the random pool', () => {
    const seen = new Set<string>();
    // 5,000 uids draw 40,000 random bytes: the 4 KiB pool is refilled ~10 times.
    for (let i = 0; i < 5000; i++) {
      const uid = bltUid();
      assert.match(uid, /^blt[0-9a-f]{16}$/);
      assert.ok(!seen.has(uid), `${uid} repeated after ${i} uids`);
      seen.add(uid);
    }
  });
});

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashPresentedToken, hashToken } from '../../src/auth/secrets.ts';

describe('hashes of presented tokens', () => {
  it('are the stored SHA-256 of each token, also for tokens presented again and past the bound of those remembered', () => {
    const tokens = Array.from({ length: 200 }, () => randomBytes(24).toString('base64url'));
    for (let round = 0; round < 2; round++) {
      for (const t of tokens) {
        const sha = createHash('sha256').update(t).digest('hex');
        assert.equal(hashPresentedToken(t), sha);
        assert.equal(hashPresentedToken(t), hashToken(t));
      }
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrubResponse, type LoggedResponse } from '../../src/delivery/send.ts';
import { scrubSecrets } from '../../src/webhooks/headers.ts';

const response = (headers: LoggedResponse['headers'], body: string): LoggedResponse => ({ headers, body, encoding: 'utf8', truncated: false });

describe('secrets echoed by a receiver are masked in the logged response (send.ts scrubResponse)', () => {
  it('masks each secret as sent, JSON-escaped and percent-encoded, in header values (one or several) and the body, a longer one whole', () => {
    const secrets = ['pa"ss/word', 'token-1', 'token-123'];
    const r = scrubResponse(
      response({ 'x-echo': 'Bearer token-123', 'set-cookie': ['a=pa%22ss%2Fword', 'b=token-1'], date: 'today' }, '{"seen":"pa\\"ss/word","t":"token-123 token-1"}'),
      secrets,
    );
    assert.deepEqual(r.headers, { 'x-echo': 'Bearer ****', 'set-cookie': ['a=****', 'b=****'], date: 'today' });
    assert.equal(r.body, '{"seen":"****","t":"**** ****"}');
  });

  it('a secrets list changed in place after it was used: the new secret is masked too (no stale forms)', () => {
    const secrets = ['first-secret'];
    assert.equal(scrubSecrets('first-secret second-secret', secrets), '**** second-secret');
    secrets.push('second-secret');
    assert.equal(scrubSecrets('first-secret second-secret', secrets), '**** ****');
    secrets[0] = 'third-secret';
    const r = scrubResponse(response({ 'x-a': 'third-secret' }, 'second-secret first-secret'), secrets);
    assert.deepEqual([r.headers['x-a'], r.body], ['****', '**** first-secret']);
  });

  it('an answer that echoes no secret is logged as it came', () => {
    const r = response({ 'content-type': 'application/json', 'x-many': ['a', 'b'] }, '{"ok":true}');
    assert.deepEqual(scrubResponse(r, ['a-secret', 'another']), r);
    assert.equal(scrubResponse(r, ['a-secret', 'another']), r, 'the same object, not a copy');
  });

  it('a secret echoed only in one header (a single value, or the last of several) is found and masked', () => {
    const secrets = ['s3cr3t', 'other'];
    const inList = scrubResponse(response({ a: 'x', 'set-cookie': ['b=1', 'c=s3cr3t'] }, '{"ok":true}'), secrets);
    assert.deepEqual(inList.headers, { a: 'x', 'set-cookie': ['b=1', 'c=****'] });
    const inOne = scrubResponse(response({ a: 'x', z: 'other' }, 'ok'), secrets);
    assert.deepEqual([inOne.headers, inOne.body], [{ a: 'x', z: '****' }, 'ok']);
  });
});

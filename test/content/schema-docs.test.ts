import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParsedTexts } from '../../src/content/schema-docs.ts';

describe('ParsedTexts (a content type parsed once per row text)', () => {
  it('gives the doc parsed before while the text is the same, and parses a changed text anew', () => {
    const parsed = new ParsedTexts<{ uid: string; schema: Array<{ uid: string }> }>();
    const v1 = JSON.stringify({ uid: 'post', schema: [{ uid: 'title' }] });
    const a = parsed.parse('k/main/post', v1);
    assert.deepEqual(a, JSON.parse(v1));
    // The same text read again (a new string, as each row read is): the same doc.
    assert.equal(parsed.parse('k/main/post', JSON.stringify(JSON.parse(v1))), a);
    const v2 = JSON.stringify({ uid: 'post', schema: [{ uid: 'title' }, { uid: 'body' }] });
    const b = parsed.parse('k/main/post', v2);
    assert.notEqual(b, a);
    assert.deepEqual(b, JSON.parse(v2));
    // Keys are separate: another branch's row with the first text is its own doc, equal to it.
    assert.deepEqual(parsed.parse('k/dev/post', v1), a);
  });

  it('freezes the doc all the way down, so a reader cannot change what other saves read', () => {
    const parsed = new ParsedTexts<{ schema: Array<{ uid: string; options: { x: number[] } }> }>();
    const doc = parsed.parse('k', JSON.stringify({ schema: [{ uid: 'title', options: { x: [1] } }] }));
    assert.throws(() => doc.schema.push({ uid: 'b', options: { x: [] } }), TypeError);
    assert.throws(() => (doc.schema[0].uid = 'other'), TypeError);
    assert.throws(() => doc.schema[0].options.x.push(2), TypeError);
    assert.equal(parsed.parse('k', JSON.stringify({ schema: [{ uid: 'title', options: { x: [1] } }] })).schema[0].uid, 'title');
  });
});

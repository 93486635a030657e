import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * test/run.ts passes --test-force-exit: a test file's process ends once the tests registered so far
 * have ended. A file that registers a test and then awaits at its top level (`for (const backend of
 * await testBackends())`) can end before the rest are registered, and they are dropped without a
 * word: claim.test.ts ran 1 of its 22 tests so (its pure first test ends before the PostgreSQL
 * probe answers), and passed. Such a file must await first (`const backends = await testBackends()`
 * above its first test).
 *
 * Read from the text, by column: a test or hook registered at column 0, then a column-0 line with
 * `await`. An await on an indented line inside a top-level block is not seen.
 */
export function registersBeforeAwait(text: string): { registered: number; awaited: number } | null {
  const lines = text.split('\n');
  const registered = lines.findIndex((l) => /^(describe|it|test|suite|before|after|beforeEach|afterEach)\s*\(/.test(l));
  if (registered < 0) return null;
  const awaited = lines.findIndex((l, i) => i > registered && /^(?!\s)(?!\/\/)(?!\*).*\bawait\b/.test(l));
  return awaited < 0 ? null : { registered: registered + 1, awaited: awaited + 1 };
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? testFiles(p) : name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('test files under --test-force-exit', () => {
  it('await at their top level before registering any test', () => {
    const late = testFiles('test').flatMap((f) => {
      const at = registersBeforeAwait(readFileSync(f, 'utf8'));
      return at ? [`${f}: a test at line ${at.registered}, a top-level await at line ${at.awaited}`] : [];
    });
    assert.deepEqual(late, []);
  });

  it('the check finds a test registered before a top-level await, and passes one awaited first', () => {
    const late = "describe('pure', () => {});\nfor (const backend of await testBackends()) {\n  describe(backend, () => {});\n}\n";
    assert.deepEqual(registersBeforeAwait(late), { registered: 1, awaited: 2 });
    const first = "const backends = await testBackends();\ndescribe('pure', () => {});\nfor (const backend of backends) describe(backend, () => {});\n";
    assert.equal(registersBeforeAwait(first), null);
    // An await inside a test's body is indented: not a top-level one.
    assert.equal(registersBeforeAwait("it('x', async () => {\n  await y();\n});\n"), null);
  });
});

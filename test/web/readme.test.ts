import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/**
 * Issue 18: "`herald` is not on the PATH after `npm ci`: every example uses what works". After
 * `npm ci` in a clone the command is `npx herald` (or `herald` after `npm link`): a README example
 * that starts a bare `herald ...` fails with "command not found" for a newcomer who pastes it.
 */
describe("the README's examples", () => {
  /** Lines of code: fenced blocks and blocks indented by four spaces. */
  const codeLines = (text: string) => {
    const out: Array<{ n: number; line: string }> = [];
    let fenced = false;
    text.split('\n').forEach((line, i) => {
      if (/^\s*```/.test(line)) fenced = !fenced;
      else if (fenced || /^ {4}/.test(line)) out.push({ n: i + 1, line });
    });
    return out;
  };

  it('run the herald command through npx', () => {
    const bare = codeLines(readFileSync('README.md', 'utf8'))
      // Where a command starts: the line (after a prompt and environment assignments), or after ; && | $(.
      .filter(({ line }) => /(^\s*(\$\s+)?([A-Z_]+=\S*\s+)*|[;&|]\s*|\$\()herald\s+[a-z]/.test(line))
      .map(({ n, line }) => `README.md:${n}: ${line.trim()}`);
    assert.deepEqual(bare, []);
  });
});

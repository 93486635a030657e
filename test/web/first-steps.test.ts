import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserAvailability, launch, newPage, screenshot } from './helpers/browser.ts';

/**
 * The README's first steps, as a newcomer runs them: the script is taken from README.md itself (so
 * the two cannot drift), run by bash on a fresh data dir with only the ports changed, and must end
 * with the receiver printing the publish call. Then, in Chromium, the Logs URL it prints is opened
 * signed out: signing in keeps that deep link, and the call's row names the entry's title.
 */
const availability = browserAvailability();

/** The first ```sh block under "## First steps". */
export function firstStepsScript(readme: string): string {
  const section = readme.slice(readme.indexOf('## First steps'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md has no ```sh block under "## First steps"');
  return m[1]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("the README's first steps on a fresh machine", { skip: 'skip' in availability ? availability.skip : false }, () => {
  let child: ChildProcess;
  let dataDir: string;
  let browser: Browser | undefined;
  const output: string[] = [];
  let heraldPort = 0;

  const waitForOutput = (re: RegExp, ms: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const end = Date.now() + ms;
      const check = () => {
        const m = re.exec(output.join(''));
        if (m) return resolve(m);
        if (Date.now() > end) return reject(new Error(`the first-steps script never printed ${re}; it printed:\n${output.join('')}`));
        setTimeout(check, 100);
      };
      check();
    });

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    heraldPort = await freePort();
    const receiverPort = await freePort();
    const script = firstStepsScript(readFileSync('README.md', 'utf8')).replace(/\b4100\b/g, String(heraldPort)).replace(/\b3000\b/g, String(receiverPort));
    dataDir = mkdtempSync(join(tmpdir(), 'herald-first-steps-'));
    // The script starts Herald on its default port: HERALD_PORT moves it where the replaced URLs point.
    // Its own process group, so Herald and the receiver it leaves running in the background end with it.
    child = spawn('bash', ['-c', script], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HERALD_DATA_DIR: dataDir, HERALD_PORT: String(heraldPort), HERALD_LOG_LEVEL: 'warn' },
    });
    child.stdout!.on('data', (c) => output.push(String(c)));
    child.stderr!.on('data', (c) => output.push(String(c)));
  });

  after(async () => {
    await browser?.close();
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 500));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs as pasted: the receiver gets the publish of the new entry', async () => {
    await waitForOutput(/receiver got publish of Hello, world/, 90_000);
    await waitForOutput(/and sign in with/, 30_000);
    const text = output.join('');
    assert.match(text, /Content type created successfully/i);
    assert.doesNotMatch(text, /error_message/, 'no step failed');
  });

  it('prints the Logs URL; signing in there keeps the deep link, and the row names the entry', async () => {
    const [, logsUrl, apiKey, token] = await waitForOutput(/Open (http:\S+)\nand sign in with the stack API key (\S+) and the management token (\S+)/, 30_000);
    assert.ok(logsUrl!.startsWith(`http://127.0.0.1:${heraldPort}/#/webhooks/`), logsUrl);
    browser = await launch();
    const { page, errors } = await newPage(browser);
    await page.goto(logsUrl!);
    await page.getByLabel('Stack API key').fill(apiKey!);
    await page.getByRole('textbox', { name: 'Management token' }).fill(token!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The deep link, not the webhook list: the Logs tab of "My receiver".
    await page.getByRole('heading', { name: /My receiver/, level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Logs', exact: true }).and(page.locator('[aria-current=page]')).waitFor();
    assert.equal(new URL(page.url()).hash, new URL(logsUrl!).hash);
    const row = page.locator('table.logs tbody tr').first();
    await row.waitFor();
    assert.match(await row.locator('[data-label="Entry"]').innerText(), /Hello, world/);
    assert.match(await row.locator('[data-label="Entry"]').innerText(), /blog_post · en-us/);
    assert.match(await row.locator('[data-label="Call Status"]').innerText(), /200 OK/);
    await screenshot(page, 'first-steps-logs.png');
    assert.deepEqual(errors, []);
  });
});

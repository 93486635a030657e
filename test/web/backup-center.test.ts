import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { spawnBackup, testSecret, until, type SpawnedBackup } from '../backup/helpers/backup.ts';
import { browserAvailability, launch, newPage, screenshot } from './helpers/browser.ts';

/**
 * The backup center's pages at phone width, in Chromium: the stack by name, times in local time
 * with the exact UTC instant on hover, who changed what by token name, the diff and Restore within
 * reach, a confirmation before restoring and a link to the restored entry in Herald's web app.
 */
const availability = browserAvailability();

describe('the backup center in a browser', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let b: SpawnedBackup;
  let browser: Browser;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let entryUid: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Recipes site');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const secret = testSecret(5);
    b = await spawnBackup(['--secret', secret, '--source', h.url, '--api-key', stack.api_key, '--settle-time', '0', '--catch-up-interval', '1s'], {
      env: { HERALD_BACKUP_TOKEN: stack.token },
    });
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
    ok(await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'Backup center', destinations: [{ target_url: `${b.url}/deliveries` }], channels: ['*.*'], signing_secret: secret } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Recipe', uid: 'recipe', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'steps', display_name: 'Steps', data_type: 'text' }] } } }));
    const e = await h.request('POST', '/v3/content_types/recipe/entries', { headers, body: { entry: { title: 'Lentil soup', steps: 'Simmer.' } } });
    ok(e);
    entryUid = e.body.entry.uid;
    ok(await h.request('PUT', `/v3/content_types/recipe/entries/${entryUid}`, { headers, body: { entry: { steps: 'Simmer for 25 minutes, a very long instruction line that would widen a table on a small phone screen if nothing wrapped it.' } } }));
    ok(await h.request('DELETE', `/v3/content_types/recipe/entries/${entryUid}`, { headers }));
    // Caught up from the feed: every event held, with its actor, and the stack's name read.
    await until('the backup to catch up', async () => {
      const r = await b.get(`/stacks/${stack.api_key}/entities/entry/${entryUid}/versions`);
      const versions = (r.body?.versions ?? []) as Array<{ actor: string | null; action: string }>;
      const status = (await b.get('/stacks')).body?.stacks?.[0];
      return versions.length === 3 && versions.every((v) => v.actor) && status ? true : undefined;
    });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await b?.stop();
    await h?.close();
  });

  it('shows a deleted entry by name and time, diffs it and restores it after asking, all within a phone screen', async () => {
    const { page, errors } = await newPage(browser, { width: 390, height: 844 });
    const fits = async () => assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 0, 'no sideways scrolling');
    await page.goto(`${b.url}/ui`);
    await until('the stack name', async () => ((await page.reload(), await page.getByRole('link', { name: 'Recipes site' }).count()) > 0) || undefined, 15_000);
    await page.getByRole('link', { name: 'Recipes site' }).click();
    await page.getByRole('heading', { name: /Recipes site/ }).waitFor();
    await page.getByRole('link', { name: 'Lentil soup' }).click();
    await page.getByText('deleted at the source').waitFor();
    await fits();

    // Local time shown, the exact UTC instant on hover; the token by its name.
    const t = page.locator('time').first();
    assert.match((await t.getAttribute('title')) ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \(UTC\)$/);
    assert.doesNotMatch(await t.innerText(), /UTC/, 'rewritten into local time');
    assert.ok((await page.locator('td[data-label="By"]', { hasText: 'tests' }).count()) >= 3, 'the management token by its name');

    // The diff is a tap away, and fits.
    const diff = page.locator('tr', { has: page.locator('td[data-label="Event"]', { hasText: 'update' }) }).getByRole('link', { name: 'diff' });
    assert.ok(await diff.isVisible());
    await diff.click();
    await page.getByRole('heading', { name: /Changes from event/ }).waitFor();
    await page.locator('table.diff').getByText('steps').waitFor();
    await fits();
    await screenshot(page, 'backup-diff-phone.png');
    await page.goBack();

    // Restore asks first, then links to the restored entry in Herald's web app.
    await page.getByRole('link', { name: 'Restore as it was before deletion…' }).click();
    await page.getByRole('heading', { name: 'Restore Lentil soup?' }).waitFor();
    await page.getByText(/the stack Recipes site in Herald/).waitFor();
    await screenshot(page, 'backup-restore-confirm-phone.png');
    await page.getByRole('button', { name: 'Restore as it was before deletion' }).click();
    const open = page.getByRole('link', { name: 'Open it in Herald' });
    await open.waitFor();
    const href = (await open.getAttribute('href'))!;
    assert.ok(href.startsWith(`${h.url}/#/content/recipe/`), href);
    const restoredUid = href.split('/').pop()!;
    const back = await h.request('GET', `/v3/content_types/recipe/entries/${restoredUid}`, { headers });
    assert.equal(back.status, 200);
    assert.equal(back.body.entry.title, 'Lentil soup');
    await fits();
    assert.deepEqual(errors, []);
  });
});

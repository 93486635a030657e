import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { ADMIN_TOKEN, startHerald, type TestHerald } from '../helpers/herald.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot } from './helpers/browser.ts';

/**
 * Signing in with "Keep me signed in on this device" (a new tab is still signed in), and the
 * management token screen: a token created is shown once with a copy button that puts it on the
 * clipboard, listed masked afterwards, and deleted after a confirmation.
 */
const availability = browserAvailability();

describe('sessions and management tokens', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let stack: { api_key: string; token: string };

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Tokens site');
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('keeps the session for a new tab only when asked to', async () => {
    const { page } = await newPage(browser);
    await page.goto(h.url + '/');
    await page.getByLabel('Stack API key').fill(stack.api_key);
    await page.getByRole('textbox', { name: 'Management token' }).fill(stack.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    const secondTab = await page.context().newPage();
    await secondTab.goto(h.url + '/#/webhooks');
    await secondTab.getByRole('heading', { name: 'Sign in to Herald' }).waitFor();
    await secondTab.close();
    await page.context().close();

    const kept = await newPage(browser);
    await kept.page.goto(h.url + '/');
    await kept.page.getByLabel('Stack API key').fill(stack.api_key);
    await kept.page.getByRole('textbox', { name: 'Management token' }).fill(stack.token);
    await kept.page.getByLabel('Keep me signed in on this device').check();
    await kept.page.getByRole('button', { name: 'Sign in' }).click();
    await kept.page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    const tab = await kept.page.context().newPage();
    await tab.goto(h.url + '/#/content');
    await tab.getByRole('heading', { name: 'Content', level: 1 }).waitFor();
    // Signing out forgets it everywhere.
    await tab.getByRole('button', { name: 'Sign out' }).click();
    await kept.page.reload();
    await kept.page.getByRole('heading', { name: 'Sign in to Herald' }).waitFor();
    await kept.page.context().close();
  });

  it('creates a token, shows it once with a copy button, lists it masked, and deletes it', async () => {
    const { page, errors } = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    await page.goto(h.url + '/#/tokens');
    await page.getByLabel('Admin token').check();
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: /Tokens site/ }).click();
    // The deep link survives the sign-in and the stack choice.
    await page.getByRole('heading', { name: 'Management tokens', level: 1 }).waitFor();
    await page.locator('table.tokens tbody tr').first().waitFor();
    assert.equal(await page.locator('table.tokens tbody tr').count(), 1, 'the token the test stack was made with');

    await page.getByLabel('Token name').fill('CI deploys');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Token created' });
    const shown = (await dialog.locator('.secret-box').innerText()).trim();
    assert.match(shown, /^cs[\w-]{20,}$/, 'cs and base64url characters');
    await dialog.getByRole('button', { name: 'Copy the token' }).click();
    await dialog.getByText('The token is on your clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);
    const works = await h.request('GET', '/v3/stacks', { headers: { api_key: stack.api_key, authorization: shown } });
    assert.equal(works.status, 200, 'the copied token is a working management token');
    await dialog.getByRole('button', { name: 'Done' }).click();

    const row = page.locator('table.tokens tbody tr', { hasText: 'CI deploys' });
    const masked = (await row.locator('[data-label="Token"]').innerText()).trim();
    assert.ok(masked.endsWith(shown.slice(-4)) && !masked.includes(shown.slice(0, 10)), `masked: ${masked}`);
    assert.equal(await page.getByText(shown).count(), 0, 'never shown again');
    await screenshot(page, 'tokens.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });

    await row.getByRole('button', { name: 'Delete the token CI deploys' }).click();
    await page.getByRole('dialog', { name: 'Delete token' }).getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await h.request('GET', '/v3/stacks', { headers: { api_key: stack.api_key, authorization: shown } })).status, 401);
    assert.deepEqual(errors, []);
  });
});

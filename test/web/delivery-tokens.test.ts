import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * Settings › Tokens › Delivery tokens in Chromium against a real Herald: a token is created for an
 * environment (its problems named and cleared as they are fixed), shown once with a copy button,
 * and the copied value really reads the published entry through the delivery API (and nothing
 * outside its environment); it is listed masked, deleted after a confirmation, and then refused.
 * Renamed and re-scoped in its Edit dialog, the same value reads the environment added and is
 * refused by the one removed. At phone width the list fits the screen and Delete is in reach.
 */
const availability = browserAvailability();

describe('delivery tokens in the web app', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let entryUid: string;
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
  /** A read of the delivery API, as a web site makes it. */
  const read = (token: string, environment: string) =>
    fetch(`${h.url}/v3/content_types/article/entries?environment=${environment}`, { headers: { api_key: stack.api_key, access_token: token } });

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Delivery site');
    headers = { api_key: stack.api_key, authorization: stack.token };
    for (const name of ['production', 'staging']) ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name } } }));
    ok(
      await h.request('POST', '/v3/content_types', {
        headers,
        body: { content_type: { title: 'Article', uid: 'article', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } },
      }),
    );
    const entry = await h.request('POST', '/v3/content_types/article/entries', { headers, body: { entry: { title: 'Launch day' } } });
    ok(entry);
    entryUid = entry.body.entry.uid;
    ok(await h.request('POST', `/v3/content_types/article/entries/${entry.body.entry.uid}/publish`, { headers, body: { entry: { environments: ['production'], locales: ['en-us'] } } }));
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('creates a token for an environment, copies it once, reads published content with it, lists it masked and deletes it', async () => {
    const { page, errors } = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    await signIn(page, h.url, stack);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Management tokens', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Delivery tokens' }).click();
    await page.getByRole('heading', { name: 'Delivery tokens', level: 1 }).waitFor();
    await page.getByText('No delivery tokens yet').waitFor();

    // Nothing filled in: each problem is named at its field, and goes as soon as it is fixed.
    await page.getByRole('button', { name: 'Create delivery token' }).click();
    const banner = page.locator('.delivery-token-form .form-error');
    await banner.getByText('The token was not created.').waitFor();
    const name = page.getByLabel('Token name');
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    await page.getByText(/pick at least one environment/).waitFor();
    await name.fill('Marketing site');
    assert.equal(await name.getAttribute('aria-invalid'), 'false');
    assert.equal(await page.getByText(/is required: name the site/).count(), 0, 'the name error went with the fix');
    await banner.waitFor({ state: 'attached' });
    const envs = page.getByRole('group', { name: 'Environments it reads' });
    await envs.getByLabel('production').check();
    await banner.waitFor({ state: 'detached' });
    assert.equal(await page.getByText(/pick at least one environment/).count(), 0);
    await page.getByLabel('Description (optional)').fill('The Next.js build');
    await page.getByRole('button', { name: 'Create delivery token' }).click();

    const dialog = page.getByRole('dialog', { name: 'Delivery token created' });
    const shown = (await dialog.locator('.secret-box').innerText()).trim();
    assert.match(shown, /^cs[\w-]{20,}$/);
    await dialog.getByRole('button', { name: 'Copy the delivery token' }).click();
    await dialog.getByText('The delivery token is on your clipboard.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, shown);
    // The example names this stack, the environment and the token.
    const example = await dialog.getByLabel('An example request').innerText();
    assert.ok(example.includes(`api_key: ${stack.api_key}`) && example.includes(`access_token: ${shown}`) && example.includes(`${h.url}/v3/content_types/article/entries?environment=production`), example);

    // The copied token is a working delivery token: it reads what is published to production...
    const published = await read(copied, 'production');
    assert.equal(published.status, 200);
    assert.deepEqual(((await published.json()) as { entries: Array<{ title: string }> }).entries.map((e) => e.title), ['Launch day']);
    // ...and nothing else: not another environment, not the management API.
    assert.equal((await read(copied, 'staging')).status, 422);
    assert.equal((await fetch(`${h.url}/v3/webhooks`, { headers: { api_key: stack.api_key, access_token: copied } })).status, 401);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });

    const row = page.locator('table.delivery-tokens tbody tr', { hasText: 'Marketing site' });
    assert.equal(await row.locator('[data-label="Environments"]').innerText(), 'production');
    const masked = (await row.locator('[data-label="Token"]').innerText()).trim();
    assert.equal(masked, `****${shown.slice(-4)}`);
    assert.equal(await page.getByText(shown).count(), 0, 'never shown again');
    assert.match(await row.innerText(), /The Next\.js build/);
    await screenshot(page, 'delivery-tokens.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });

    await row.getByRole('button', { name: 'Delete the delivery token Marketing site' }).click();
    await page.getByRole('dialog', { name: 'Delete delivery token' }).getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('No delivery tokens yet').waitFor();
    assert.equal((await read(copied, 'production')).status, 401, 'revoked');
    assert.deepEqual(errors, []);
  });

  it('renames and re-scopes a token in its Edit dialog: the same value reads the environment added, and the one removed refuses it', async () => {
    ok(await h.request('POST', `/v3/content_types/article/entries/${entryUid}/publish`, { headers, body: { entry: { environments: ['staging'], locales: ['en-us'] } } }));
    const made = await h.request('POST', '/v3/stacks/delivery_tokens', {
      headers,
      body: { token: { name: 'Partner app', scope: [{ module: 'environment', environments: ['production'] }, { module: 'branch', branches: ['main'] }] } },
    });
    ok(made);
    const value: string = made.body.token.token;
    assert.equal((await read(value, 'production')).status, 200);
    assert.equal((await read(value, 'staging')).status, 422, 'not in its scope yet');

    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    await page.goto(`${h.url}/#/tokens/delivery`);
    const row = page.locator('table.delivery-tokens tbody tr', { hasText: 'Partner app' });
    await row.getByRole('link', { name: 'Edit the delivery token Partner app' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit delivery token' });
    await dialog.waitFor();
    assert.ok(page.url().endsWith(`#/tokens/delivery/${made.body.token.uid}`), `the dialog has its own address: ${page.url()}`);
    assert.equal(await dialog.getByLabel('Token name').inputValue(), 'Partner app');
    const envs = dialog.getByRole('group', { name: 'Environments it reads' });
    assert.equal(await envs.getByLabel('production').isChecked(), true);
    assert.equal(await envs.getByLabel('staging').isChecked(), false);

    // No environment left: named before asking the server, and nothing is saved.
    await envs.getByLabel('production').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The token was not saved.').waitFor();
    await dialog.getByText(/pick at least one environment/).waitFor();
    await envs.getByLabel('staging').check();
    assert.equal(await dialog.getByText(/pick at least one environment/).count(), 0, 'the problem went with the fix');
    await dialog.getByLabel('Token name').fill('Partner app (staging)');
    await dialog.getByLabel('Description (optional)').fill('Reads the staging site');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Delivery token “Partner app (staging)” saved.').waitFor();
    assert.ok(page.url().endsWith('#/tokens/delivery'), page.url());

    const edited = page.locator('table.delivery-tokens tbody tr', { hasText: 'Partner app (staging)' });
    assert.equal(await edited.locator('[data-label="Environments"]').innerText(), 'staging');
    assert.match(await edited.innerText(), /Reads the staging site/);
    assert.equal((await edited.locator('[data-label="Token"]').innerText()).trim(), `****${value.slice(-4)}`, 'the value stays');
    // The same value now reads staging, and production refuses it.
    const staged = await read(value, 'staging');
    assert.equal(staged.status, 200);
    assert.deepEqual(((await staged.json()) as { entries: Array<{ title: string }> }).entries.map((e) => e.title), ['Launch day']);
    assert.equal((await read(value, 'production')).status, 422, 'the environment removed refuses it');

    // Opened from its address, the dialog shows what was saved; Cancel changes nothing.
    await page.goto(`${h.url}/#/tokens/delivery/${made.body.token.uid}`);
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Token name').inputValue(), 'Partner app (staging)');
    assert.equal(await envs.getByLabel('staging').isChecked(), true);
    await screenshot(page, 'delivery-token-edit.png');
    await dialog.getByLabel('Token name').fill('Not saved');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.locator('table.delivery-tokens tbody tr', { hasText: 'Not saved' }).count(), 0);
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });
    assert.deepEqual(errors, []);
    ok(await h.request('DELETE', `/v3/stacks/delivery_tokens/${made.body.token.uid}`, { headers }));
  });

  it('offers to add the first environment when the stack has none', async () => {
    const bare = await h.newStack('No environments');
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, bare);
    await page.goto(`${h.url}/#/tokens/delivery`);
    await page.getByText(/has no environment yet/).waitFor();
    await page.getByLabel('New environment').fill('preview');
    await page.getByRole('button', { name: 'Add environment' }).click();
    const picked = page.getByRole('group', { name: 'Environments it reads' }).getByLabel('preview');
    await picked.waitFor();
    assert.equal(await picked.isChecked(), true, 'the environment just added is picked');
    await page.getByLabel('Token name').fill('Preview app');
    await page.getByRole('button', { name: 'Create delivery token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delivery token created' });
    await dialog.waitFor();
    const listed = await h.request('GET', '/v3/stacks/delivery_tokens', { headers: { api_key: bare.api_key, authorization: bare.token } });
    assert.deepEqual(
      listed.body.tokens.map((t: { name: string; scope: Array<{ module: string; environments?: Array<{ name: string }> }> }) => [t.name, t.scope[0]!.environments!.map((e) => e.name)]),
      [['Preview app', ['preview']]],
    );
    assert.deepEqual(errors, []);
  });

  it('fits a phone: the list without sideways scrolling, Delete in reach', async () => {
    const made = await h.request('POST', '/v3/stacks/delivery_tokens', {
      headers,
      body: { token: { name: 'Mobile app', scope: [{ module: 'environment', environments: ['production', 'staging'] }, { module: 'branch', branches: ['main'] }] } },
    });
    ok(made);
    const { page, errors } = await newPage(browser, { width: 390, height: 844 });
    await signIn(page, h.url, stack);
    await page.goto(`${h.url}/#/tokens/delivery`);
    const row = page.locator('table.delivery-tokens tbody tr', { hasText: 'Mobile app' });
    await row.waitFor();
    assert.equal(await row.locator('[data-label="Environments"]').innerText(), 'production, staging');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    const del = row.getByRole('button', { name: 'Delete the delivery token Mobile app' });
    const box = (await del.boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `Delete at x=${box.x}`);
    await screenshot(page, 'delivery-tokens-phone.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });
    assert.deepEqual(errors, []);
  });
});

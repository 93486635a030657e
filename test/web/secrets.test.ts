import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { browserAvailability, launch, newPage, recordResponses, signIn } from './helpers/browser.ts';

/**
 * Secrets set through the web app never come back to it: not in a page's HTML, not in any
 * response the app receives. And the edit form never sends the masks back as new values: after an
 * edit that leaves them alone, the receiver still gets the real ones.
 */
const availability = browserAvailability();

const PASSWORD = 'basic-Pa55word-7f3a9c1e';
const SECRET_HEADER = 'hdr-secret-Value-5d2b8e40';
const NEW_PASSWORD = 'rotated-Pa55word-c4e1b9d7';

describe('secrets in the web app', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let responses: ReturnType<typeof recordResponses>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let entryUid: string;
  const pages: string[] = [];

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    rx = await startReceiver();
    stack = await h.newStack('Secrets');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ct = await h.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Page', uid: 'page', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text' }] } },
    });
    assert.equal(ct.status, 201);
    const entry = await h.request('POST', '/v3/content_types/page/entries', { headers, body: { entry: { title: 'Home' } } });
    entryUid = entry.body.entry.uid;
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    responses = recordResponses(page);
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  /** The page's HTML as it stands, kept for the final scan. */
  const snapshot = async () => pages.push(await page.content());

  /** Changes the entry through the API and waits for the webhook's call; returns it. */
  const trigger = async (title: string) => {
    const n = rx.received.length;
    const r = await h.request('PUT', `/v3/content_types/page/entries/${entryUid}`, { headers, body: { entry: { title } } });
    assert.equal(r.status, 200);
    await rx.waitFor(n + 1);
    return rx.received[n];
  };
  /** Clicks Save and waits for that save's own PUT to answer: a toast from an earlier save may still show. */
  const save = async () => {
    const answered = page.waitForResponse((r) => r.request().method() === 'PUT' && /\/v3\/webhooks\/[^/?]+$/.test(r.url()));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    assert.equal((await answered).status(), 200);
  };
  const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

  it('never shows a basic auth password or a secret header value, and edits keep them working', async () => {
    await signIn(page, h.url, stack);
    await page.getByRole('link', { name: '+ New Webhook' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Deploy hook');
    await page.getByLabel('URL to notify').fill(`${rx.url}/deploy`);
    await page.getByLabel('Authentication', { exact: true }).selectOption('Basic');
    await page.getByLabel('HTTP basic auth username').fill('deployer');
    await page.getByLabel('HTTP basic auth password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    await page.getByLabel('Header 1 name').fill('X-Deploy-Key');
    await page.getByLabel('Header 1 value').fill(SECRET_HEADER);
    await page.getByLabel('Header 1 is secret').check();
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    await page.getByLabel('Header 2 name').fill('X-Site');
    await page.getByLabel('Header 2 value').fill('www');
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.locator('.row-editor').getByLabel('Content type').selectOption('page');
    await page.locator('.row-editor').getByLabel('Action').selectOption('update');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: /Deploy hook/ }).waitFor();

    // The Details tab, fresh from the API: the secrets are not in the inputs, only "unchanged".
    await page.reload();
    await page.getByRole('heading', { name: /Deploy hook/ }).waitFor();
    await snapshot();
    assert.equal(await page.getByLabel('HTTP basic auth password').inputValue(), '');
    assert.equal(await page.getByLabel('Header 1 value').inputValue(), '');
    assert.equal(await page.getByLabel('Header 2 value').inputValue(), 'www');
    await page.getByText('A password is set.').waitFor();

    let call = await trigger('Home, v2');
    assert.equal(call.headers.authorization, basic('deployer', PASSWORD));
    assert.equal(call.headers['x-deploy-key'], SECRET_HEADER);

    // Edit something else and save: the masks are not sent back as the new values.
    await page.getByLabel('Name', { exact: true }).fill('Deploy hook (production)');
    await save();
    await page.getByRole('heading', { name: /Deploy hook \(production\)/ }).waitFor();
    await snapshot();
    call = await trigger('Home, v3');
    assert.equal(call.headers.authorization, basic('deployer', PASSWORD));
    assert.equal(call.headers['x-deploy-key'], SECRET_HEADER);
    assert.equal(call.headers['x-site'], 'www');

    // A new password typed in replaces the old one.
    await page.getByLabel('HTTP basic auth password').fill(NEW_PASSWORD);
    await save();
    await page.getByText('A password is set.').waitFor();
    await snapshot();
    call = await trigger('Home, v4');
    assert.equal(call.headers.authorization, basic('deployer', NEW_PASSWORD));
    assert.equal(call.headers['x-deploy-key'], SECRET_HEADER);

    // The list, the Logs tab and Call Details show the calls without the secrets.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Webhooks/ }).click();
    await page.getByText('3/3 delivered').waitFor();
    await snapshot();
    await page.getByRole('link', { name: 'Deploy hook (production)' }).click();
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    const rows = page.locator('table.logs tbody tr');
    await rows.nth(2).waitFor();
    await snapshot();
    for (const i of [0, 1, 2]) {
      await rows.nth(i).getByRole('link', { name: /Call Details/ }).click();
      const details = page.getByRole('dialog', { name: 'Call Details' });
      await details.getByRole('heading', { name: /Attempt 1 of 1/ }).waitFor();
      const request = details.getByRole('region', { name: 'Request' });
      assert.equal(await request.locator('tr', { hasText: 'authorization' }).locator('td').innerText(), 'Basic ****');
      assert.equal(await request.locator('tr', { hasText: 'x-deploy-key' }).locator('td').innerText(), '****8e40');
      await snapshot();
      await details.getByRole('button', { name: 'Close' }).click();
      await details.waitFor({ state: 'detached' });
    }

    // Every page's HTML and every response the app received.
    const bodies = await Promise.all(responses.map(async (r) => ({ url: r.url, body: await r.body })));
    assert.ok(bodies.some((b) => /\/v3\/webhooks\/[^/]+\/executions\?skip=0&limit=25/.test(b.url)), 'the Logs tab was loaded');
    assert.ok(bodies.some((b) => /\/v3\/webhooks\/[^/]+\/logs$/.test(b.url)), 'Call Details were loaded');
    const forbidden = [PASSWORD, NEW_PASSWORD, SECRET_HEADER, basic('deployer', PASSWORD).slice(6), basic('deployer', NEW_PASSWORD).slice(6)];
    for (const secret of forbidden) {
      for (const b of bodies) assert.ok(!b.body.includes(secret), `a response from ${b.url} contains a secret`);
      for (const html of pages) assert.ok(!html.includes(secret), 'a page contains a secret');
    }
    assert.ok(pages.length >= 8);
    assert.deepEqual(errors, []);
  });
});

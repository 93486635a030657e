import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * The web app end to end, in Debian's Chromium against a real Herald and a real receiver: what
 * issue 4's first acceptance criterion walks through, and the README's screenshots on the way.
 */
const availability = browserAvailability();

describe('the web app, end to end', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let failing: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let entryUid: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    // A short auto-save window, so the auto_save call is not held back by coalescing; automatic
    // retries a minute apart (the default), so the manual Retry is the only second attempt.
    h = await startHerald({ autoSaveWindowMs: 200, retryDelaysMs: [60_000, 60_000, 60_000, 60_000] });
    rx = await startReceiver((_r, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"received":true}');
    });
    failing = await startReceiver((_r, res) => {
      res.statusCode = 503;
      res.end('search index is rebuilding');
    });
    stack = await h.newStack('Acme marketing site');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ct = await h.request('POST', '/v3/content_types', {
      headers,
      body: {
        content_type: {
          title: 'Blog post',
          uid: 'blog',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
            { uid: 'body', display_name: 'Body', data_type: 'text', field_metadata: { multiline: true } },
          ],
        },
      },
    });
    assert.equal(ct.status, 201);
    assert.equal((await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } })).status, 201);
    const entry = await h.request('POST', '/v3/content_types/blog/entries', { headers, body: { entry: { title: 'Hello world', body: 'First draft.' } } });
    assert.equal(entry.status, 201);
    entryUid = entry.body.entry.uid;
    browser = await launch();
    ({ page, errors } = await newPage(browser));
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await failing?.close();
    await h?.close();
  });

  it('creates a webhook through the form, delivers an auto-save and a publish, shows and retries the calls, and deletes it', async () => {
    await signIn(page, h.url, stack);

    // Settings > Webhooks starts empty and says what to do.
    await page.getByText('No webhooks yet').waitFor();
    await page.getByRole('link', { name: '+ New Webhook' }).click();
    await page.getByRole('heading', { name: 'New Webhook' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('Rebuild the site');
    await page.getByLabel('URL to notify').fill(`${rx.url}/hooks/rebuild`);
    await page.getByLabel('Authentication', { exact: true }).selectOption('Basic');
    await page.getByLabel('HTTP basic auth username').fill('herald');
    await page.getByLabel('HTTP basic auth password').fill('pa55-word-for-the-builder');
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    await page.getByLabel('Header 1 name').fill('X-Team');
    await page.getByLabel('Header 1 value').fill('web');
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    await page.getByLabel('Header 2 name').fill('X-Build-Token');
    await page.getByLabel('Header 2 value').fill('build-token-0123456789');
    await page.getByLabel('Header 2 is secret').check();

    // When: two events picked in the Conditional View.
    await page.getByRole('button', { name: '+ Add event' }).click();
    const row1 = page.locator('.row-editor').nth(0);
    await row1.getByLabel('Module').selectOption('entry');
    await row1.getByLabel('Content type').selectOption('blog');
    await row1.getByLabel('Action').selectOption('auto_save');
    await page.getByRole('button', { name: '+ Add event' }).click();
    const row2 = page.locator('.row-editor').nth(1);
    await row2.getByLabel('Content type').selectOption('blog');
    await row2.getByLabel('Action').selectOption('publish');
    await page.locator('.channel-preview').getByText('content_types.blog.entries.auto_save').waitFor();
    await page.locator('.channel-preview').getByText('content_types.blog.entries.publish').waitFor();

    await page.getByRole('button', { name: 'Create webhook' }).click();
    const created = page.getByRole('dialog', { name: 'Webhook created' });
    await created.waitFor();
    assert.match(await created.locator('.secret-box').innerText(), /^whsec_/);
    await created.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: /Rebuild the site/ }).waitFor();

    // Send test call: the receiver gets a signed sample call with the webhook's basic auth, and
    // the page says how it went. Test calls are not logged, so the log below starts empty.
    await page.getByRole('button', { name: 'Send test call' }).click();
    await page.getByText(/The test call succeeded/).waitFor();
    await rx.waitFor(1);
    assert.equal(rx.received[0].json.event, 'test');
    assert.match(String(rx.received[0].headers.authorization), /^Basic /);
    rx.received.splice(0);

    // What the form created, read back through the API.
    const list = await h.request('GET', '/v3/webhooks', { headers });
    assert.equal(list.body.webhooks.length, 1);
    const hook = list.body.webhooks[0];
    assert.deepEqual(hook.channels, ['content_types.blog.entries.auto_save', 'content_types.blog.entries.publish']);
    assert.equal(hook.destinations[0].target_url, `${rx.url}/hooks/rebuild`);
    assert.equal(hook.destinations[0].http_basic_auth, 'herald');
    assert.deepEqual(
      hook.destinations[0].custom_header.map((c: { header_name: string; secret?: boolean }) => [c.header_name, c.secret === true]),
      [
        ['X-Team', false],
        ['X-Build-Token', true],
      ],
    );

    // Two more webhooks, through the API, so the list has something to compare with.
    const other = await h.request('POST', '/v3/webhooks', {
      headers,
      body: { webhook: { name: 'Search index', destinations: [{ target_url: `${failing.url}/index` }], channels: ['content_types.entries.publish'] } },
    });
    assert.equal(other.status, 201);
    const slack = await h.request('POST', '/v3/webhooks', {
      headers,
      body: { webhook: { name: 'Slack #content', destinations: [{ target_url: 'https://hooks.slack.example/services/T000/B000' }], channels: ['Entry.*', 'assets.delete'], disabled: true } },
    });
    assert.equal(slack.status, 201);

    // Edit the entry: typing auto-saves (PUT ?auto_save=true), which the webhook hears as auto_save.
    await page.getByRole('link', { name: 'Content' }).click();
    await page.getByRole('link', { name: /Blog post/ }).click();
    await page.getByRole('link', { name: 'Hello world' }).click();
    const body = page.getByLabel('Body');
    await body.fill('First draft, now with a second sentence.');
    await page.getByText('Saved automatically').waitFor();
    await rx.waitFor(1);
    const autoSave = rx.received[0];
    assert.equal(autoSave.json.event, 'auto_save');
    assert.equal(autoSave.json.data.entry.body, 'First draft, now with a second sentence.');
    assert.equal(autoSave.url, '/hooks/rebuild');
    assert.equal(autoSave.headers.authorization, 'Basic ' + Buffer.from('herald:pa55-word-for-the-builder').toString('base64'));
    assert.equal(autoSave.headers['x-team'], 'web');
    assert.equal(autoSave.headers['x-build-token'], 'build-token-0123456789');
    const stored = await h.request('GET', `/v3/content_types/blog/entries/${entryUid}`, { headers });
    assert.equal(stored.body.entry.body, 'First draft, now with a second sentence.');

    // Publish to production (en-us).
    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    const publish = page.getByRole('dialog', { name: 'Publish entry' });
    await publish.getByLabel('production').check();
    await publish.getByLabel(/en-us/).check();
    await publish.getByRole('button', { name: 'Publish', exact: true }).click();
    await publish.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: /Hello world/ }).getByText('Published').waitFor();
    await rx.waitFor(2);
    assert.equal(rx.received[1].json.event, 'publish');
    assert.equal(rx.received[1].json.data.environment.name, 'production');

    // The list: target URL, channels, state and health.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Webhooks/ }).click();
    const rebuildRow = page.locator('tr', { has: page.getByRole('link', { name: 'Rebuild the site' }) });
    await rebuildRow.getByText('100% ok').waitFor();
    await rebuildRow.getByText('2/2 delivered').waitFor();
    const searchRow = page.locator('tr', { has: page.getByRole('link', { name: 'Search index' }) });
    await searchRow.getByText('0% ok').waitFor();
    await searchRow.getByText('0/1 delivered, 1 retrying').waitFor();
    await page.locator('tr', { has: page.getByRole('link', { name: 'Slack #content' }) }).getByText('Disabled').waitFor();
    assert.match(await rebuildRow.innerText(), /An entry of blog is auto-saved/);
    await screenshot(page, `webhook-list.png`);

    // More Options by keyboard: open the menu, move to "View logs", press Enter.
    await rebuildRow.getByRole('button', { name: 'More options for Rebuild the site' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Edit');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.activeElement?.textContent === 'View logs');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Logs', exact: true }).and(page.locator('[aria-current=page]')).waitFor();

    // The Logs tab: newest first, humanised time with the exact time on hover, 200 for both.
    const rows = page.locator('table.logs tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /publish/);
    assert.match(await rows.nth(1).innerText(), /auto_save/);
    for (const i of [0, 1]) {
      assert.match(await rows.nth(i).locator('[data-label="Call Status"]').innerText(), /200 OK/);
      assert.equal((await rows.nth(i).locator('[data-label="Attempts"]').innerText()).trim(), '1');
      const time = rows.nth(i).locator('time');
      assert.match(await time.innerText(), /just now|seconds? ago/);
      assert.match((await time.getAttribute('title')) ?? '', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    }

    // Call Details of the publish call: the request as sent (secrets masked) and the response.
    await rows.nth(0).getByRole('link', { name: /Call Details/ }).click();
    const details = page.getByRole('dialog', { name: 'Call Details' });
    await details.getByRole('heading', { name: /Attempt 1 of 1/ }).waitFor();
    const request = details.getByRole('region', { name: 'Request' });
    const response = details.getByRole('region', { name: 'Response' });
    assert.match(await request.innerText(), new RegExp(`POST ${rx.url}/hooks/rebuild`));
    assert.equal(await request.locator('tr', { hasText: 'authorization' }).locator('td').innerText(), 'Basic ****');
    assert.equal(await request.locator('tr', { hasText: 'x-build-token' }).locator('td').innerText(), '****6789');
    assert.equal(await request.locator('tr', { hasText: 'x-team' }).locator('td').innerText(), 'web');
    assert.match(await request.locator('pre').innerText(), /"event": "publish"/);
    assert.match(await response.innerText(), /200 OK/);
    assert.match(await response.locator('pre').innerText(), /"received": true/);
    assert.match(await details.innerText(), /took \d+ ms/);
    await screenshot(page, `webhook-call-details.png`);
    await details.getByRole('button', { name: 'Close' }).click();
    await details.waitFor({ state: 'detached' });

    // The receiver starts failing; Retry sends the call again and shows the new attempt.
    rx.respond = (_r, res) => {
      res.statusCode = 500;
      res.end('{"error":"builder is down"}');
    };
    const before = rx.received.length;
    await rows.nth(0).getByRole('button', { name: 'Retry the publish call' }).click();
    await page.getByText(/Retried: attempt 2 answered 500 Internal Server Error/).waitFor();
    assert.ok(rx.received.length > before);
    assert.equal(rx.received[before].json.event, 'publish');
    assert.equal(rx.received[before].headers['webhook-id'], rx.received[1].headers['webhook-id'], 'a retry keeps the delivery id');
    await rows.nth(0).getByRole('link', { name: /Call Details/ }).click();
    await details.getByRole('button', { name: /^Attempt 2: 500/ }).click();
    await details.getByRole('heading', { name: /Attempt 2 of/ }).waitFor();
    assert.match(await response.innerText(), /500 Internal Server Error/);
    assert.match(await response.locator('pre').innerText(), /builder is down/);
    await details.getByRole('button', { name: 'Close' }).click();
    assert.match(await rows.nth(0).locator('[data-label="Call Status"]').innerText(), /500 Internal Server Error\s+retrying in/);
    assert.equal((await rows.nth(0).locator('[data-label="Attempts"]').innerText()).trim(), '2');
    await screenshot(page, `webhook-logs.png`);

    // Delete it from More Options, confirming first.
    await page.getByRole('button', { name: 'More options for Rebuild the site' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete webhook' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Search index' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Rebuild the site' }).count(), 0);
    const after = await h.request('GET', '/v3/webhooks', { headers });
    assert.deepEqual(
      after.body.webhooks.map((w: { name: string }) => w.name).sort(),
      ['Search index', 'Slack #content'],
    );

    assert.deepEqual(errors, []);
  });
});

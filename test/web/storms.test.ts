import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, executions, until } from '../helpers/engine.ts';
import { browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * Event storms (#20) in the Logs tab, in Chromium against a real Herald and receiver: a batch's
 * calls say so, Call Details lists the batch's events and opens each; calls waiting for a rate
 * limit say so, with when they go.
 */
const availability = browserAvailability();

describe('the Logs tab with batches and rate limits', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    rx = await startReceiver();
    stack = await h.newStack('Storms');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'News', uid: 'news', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    browser = await launch();
    ({ page } = await newPage(browser));
    await signIn(page, h.url, stack);
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  const rows = () => page.locator('table.logs tbody tr');
  const create = async (title: string) => assert.equal((await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title } } })).status, 201);

  it("shows a batch's calls, lists the batch's events in Call Details, and opens each", async () => {
    const hook = await createWebhook(h, stack, rx.url, { name: 'Site build', channels: ['content_types.entries.create'], batch: { max_events: 3, window_ms: 60_000 } });
    for (const title of ['Alpha', 'Beta', 'Gamma']) await create(title);
    await until(async () => (await executions(h, stack, hook.uid, '&state=succeeded')).length === 3, 15_000, 'the batch delivered');
    assert.equal(rx.received.length, 1, 'one call');
    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    await rows().nth(2).waitFor();
    assert.equal(await rows().filter({ hasText: 'in a batch of 3' }).count(), 3);
    await rows().filter({ hasText: 'Beta' }).getByRole('link', { name: /Call Details/ }).click();
    const dialog = page.getByRole('dialog');
    const batch = dialog.getByRole('region', { name: 'Batch' });
    await batch.getByRole('heading', { name: /Batch of 3 events/ }).waitFor();
    assert.deepEqual(await batch.locator('li a').allInnerTexts(), ['Alpha', 'Beta', 'Gamma']);
    assert.match(await batch.locator('li').filter({ hasText: 'Beta' }).innerText(), /this call/);
    // The request shown is the batch's one call.
    assert.match(await dialog.innerText(), /"events":\s*\[/);
    await screenshot(page, 'webhook-call-details-batch.png');
    // Each event of the batch opens as its own call.
    await batch.getByRole('link', { name: /Gamma/ }).click();
    await until(async () => /this call/.test(await page.getByRole('dialog').getByRole('region', { name: 'Batch' }).locator('li').filter({ hasText: 'Gamma' }).innerText()), 10_000, 'Gamma opened');
    assert.match(page.url(), new RegExp(`/logs/exe_`));
  });

  it('says a call waits for the rate limit, and when it goes', async () => {
    const hook = await createWebhook(h, stack, rx.url, { name: 'Search index', channels: ['content_types.entries.create'], rate_limit: { max: 1, per: 'minute' } });
    for (const title of ['One', 'Two']) await create(title);
    await until(async () => (await executions(h, stack, hook.uid)).some((x) => x.rate_limited), 15_000, 'a call waiting for the rate limit');
    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    const waiting = rows().filter({ hasText: 'waiting for the rate limit' });
    await waiting.first().waitFor();
    assert.equal(await waiting.count(), 1);
    assert.match(await waiting.innerText(), /waiting for the rate limit, sends in \d+ (second|minute)s?/);
  });
});

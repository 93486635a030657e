import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, executions, until } from '../helpers/engine.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * The Logs tab's filters issue 18 lists beside those test/web/logs.test.ts walks: by event, by an
 * entry's uid, and "Retry all failed…" counting only the failed calls of the time range chosen. In
 * Chromium against a real Herald and receiver.
 */
const availability = browserAvailability();

describe('the Logs tab: event filter, uid search, retry all failed in a time range', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let hook: { uid: string };
  let alpha: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    // One attempt in all: a failed call failed for good at once.
    h = await startHerald({ retryDelaysMs: [] });
    rx = await startReceiver((r, res) => {
      if (String(r.json?.data?.entry?.title ?? '').startsWith('Broken')) res.statusCode = 500;
    });
    stack = await h.newStack('Log filters');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: any }) => (assert.ok(r.status < 300, JSON.stringify(r.body)), r.body);
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'News', uid: 'news', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    hook = await createWebhook(h, stack, `${rx.url}/feed`, { name: 'Feed', channels: ['content_types.entries.create', 'content_types.entries.publish'] });
    alpha = ok(await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title: 'Alpha' } } })).entry.uid;
    ok(await h.request('POST', `/v3/content_types/news/entries/${alpha}/publish`, { headers, body: { entry: { environments: ['production'], locales: ['en-us'] } } }));
    ok(await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title: 'Broken' } } }));
    await until(async () => (await executions(h, stack, hook.uid)).filter((x) => x.state === 'succeeded' || x.state === 'failed').length === 3, 15_000, 'three calls ended');
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  const rows = () => page.locator('table.logs tbody tr');
  const shown = async () => (await rows().evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('.entity-title')?.textContent} ${tr.querySelector('.event-name')?.textContent?.trim()}`))).sort();

  it('filters by event', async () => {
    await rows().nth(2).waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption('publish');
    await until(async () => (await rows().count()) === 1, 10_000, 'the publish call only');
    assert.deepEqual(await shown(), ['Alpha publish']);
    await page.getByLabel('Event', { exact: true }).selectOption('create');
    await until(async () => (await rows().count()) === 2, 10_000, 'the create calls');
    assert.deepEqual(await shown(), ['Alpha create', 'Broken create']);
    await page.getByLabel('Event', { exact: true }).selectOption('');
    await until(async () => (await rows().count()) === 3, 10_000, 'every call');
  });

  it("finds an entry's calls by its uid", async () => {
    await page.getByRole('searchbox', { name: 'Search by entry' }).fill(alpha);
    await until(async () => (await rows().count()) === 2, 10_000, "Alpha's calls");
    assert.deepEqual(await shown(), ['Alpha create', 'Alpha publish']);
    await page.getByRole('searchbox', { name: 'Search by entry' }).fill('');
    await until(async () => (await rows().count()) === 3, 10_000, 'every call');
  });

  it('retries only the failed calls of the time range chosen, saying which range', async () => {
    // The browser's local time, as the datetime-local inputs read it.
    const local = (offsetMs: number) =>
      page.evaluate((o) => {
        const ms = Date.now() + o;
        return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      }, offsetMs);
    const from = page.getByLabel('Called from');
    await from.fill(await local(3_600_000));
    await from.dispatchEvent('change');
    await until(async () => (await rows().count()) === 0, 10_000, 'no call in the next hour');
    await page.getByRole('button', { name: 'Retry all failed…' }).click();
    let dialog = page.getByRole('dialog', { name: 'Retry all failed calls' });
    await dialog.getByText(/No failed calls between .+ and now\./).waitFor();
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    await dialog.waitFor({ state: 'detached' });

    await from.fill(await local(-3_600_000));
    await from.dispatchEvent('change');
    await until(async () => (await rows().count()) === 3, 10_000, 'the last hour');
    const before = rx.received.length;
    await page.getByRole('button', { name: 'Retry all failed…' }).click();
    dialog = page.getByRole('dialog', { name: 'Retry all failed calls' });
    await dialog.getByText(/Retry 1 failed call between .+ and now\?/).waitFor();
    await dialog.getByRole('button', { name: 'Retry 1' }).click();
    await dialog.getByText(/1 of 1 retried/).waitFor();
    await until(() => rx.received.length === before + 1, 10_000, 'the failed call sent again');
    assert.equal(rx.received.at(-1)!.json.data.entry.title, 'Broken');
    assert.deepEqual(errors, []);
  });
});

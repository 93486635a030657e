import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, executions, until } from '../helpers/engine.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * The Logs tab answering "what is failing, for which entry, since when", in Chromium against a
 * real Herald and receiver: the health chart from /stats with the right counts, the entry on each
 * row, search, "Any failure" apart from "Failed for good", calls on hold while the webhook is
 * disabled, and "Retry all failed" with its count and progress.
 */
const availability = browserAvailability();

describe('the Logs tab', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let hook: { uid: string };

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    // Two attempts in all, the automatic retry a minute away: a failed first attempt waits with a
    // retry scheduled for the rest of the test.
    h = await startHerald({ retryDelaysMs: [60_000] });
    rx = await startReceiver((r, res) => {
      if (String(r.json?.data?.entry?.title ?? '').startsWith('Broken')) {
        res.statusCode = 503;
        res.end('search index is rebuilding');
      }
    });
    stack = await h.newStack('Logs');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'News', uid: 'news', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    hook = await createWebhook(h, stack, `${rx.url}/search`, { name: 'Search index', channels: ['content_types.entries.create'] });
    for (const title of ['Fine one', 'Fine two', 'Broken one', 'Broken two', 'Broken three']) {
      ok(await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title } } }));
    }
    await until(async () => (await executions(h, stack, hook.uid)).every((x) => x.attempts === 1 && x.state !== 'in_flight'), 15_000, 'first attempts');
    // "Broken one" is retried by hand: its second and last attempt fails too, so it failed for good.
    const brokenOne = (await executions(h, stack, hook.uid, '&q=Broken%20one'))[0];
    ok(await h.request('POST', `/v3/webhooks/${hook.uid}/retry`, { headers, body: { execution_uid: brokenOne.uid } }));
    await until(async () => (await executions(h, stack, hook.uid, '&state=failed')).length === 1, 10_000, 'failed for good');
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  const rows = () => page.locator('table.logs tbody tr');
  const entryTitles = async () => (await rows().locator('.entity-title').allInnerTexts()).sort();

  it('charts the last 24 hours from /stats: successes, failures and p95, with the window stated', async () => {
    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    const chart = page.getByRole('figure');
    await chart.getByText(/Last 24 hours, hour by hour/).waitFor();
    const api = (await h.request('GET', `/v3/webhooks/${hook.uid}/stats`, { headers })).body.stats;
    assert.equal(api.succeeded, 2);
    assert.equal(api.failed, 4, 'three first attempts and one manual retry failed');
    assert.equal((await chart.locator('[data-total=succeeded]').innerText()).trim(), '2 succeeded');
    assert.equal((await chart.locator('[data-total=failed]').innerText()).trim(), '4 failed');
    const bars = chart.locator('g.bucket');
    assert.equal(await bars.count(), 24);
    const drawn = await bars.evaluateAll((gs) => gs.map((g) => [Number(g.getAttribute('data-succeeded')), Number(g.getAttribute('data-failed'))]));
    assert.deepEqual(
      drawn.reduce((t, [s, f]) => [t[0]! + s!, t[1]! + f!], [0, 0]),
      [2, 4],
    );
    const busiest = await chart.locator('g.bucket[data-failed="4"] title').textContent();
    // The p95 is the attempts' own time: under ~1 s in ms, past it in seconds (a loaded machine's
    // receiver answers late), as the chart formats durations.
    assert.match(busiest ?? '', /2 succeeded, 4 failed, p95 (\d+ ms|\d+(\.\d+)? s)$/);
  });

  it('names the entry on each row and finds rows by title', async () => {
    await rows().nth(4).waitFor();
    assert.deepEqual(await entryTitles(), ['Broken one', 'Broken three', 'Broken two', 'Fine one', 'Fine two']);
    assert.match(await rows().filter({ hasText: 'Fine one' }).locator('[data-label="Entry"]').innerText(), /news · en-us/);
    await page.getByRole('searchbox', { name: 'Search by entry' }).fill('broken t');
    await until(async () => (await rows().count()) === 2, 10_000, 'search results');
    assert.deepEqual(await entryTitles(), ['Broken three', 'Broken two']);
    await page.getByRole('searchbox', { name: 'Search by entry' }).fill('');
    await until(async () => (await rows().count()) === 5, 10_000, 'all rows again');
  });

  it('tells "Any failure" from "Failed for good"', async () => {
    await page.getByLabel('Status').selectOption({ label: 'Failed for good' });
    await until(async () => (await rows().count()) === 1, 10_000, 'failed for good rows');
    assert.deepEqual(await entryTitles(), ['Broken one']);
    await page.getByLabel('Status').selectOption({ label: 'Any failure' });
    await until(async () => (await rows().count()) === 3, 10_000, 'any failure rows');
    assert.deepEqual(await entryTitles(), ['Broken one', 'Broken three', 'Broken two']);
    assert.match(await rows().filter({ hasText: 'Broken two' }).locator('[data-label="Call Status"]').innerText(), /503 Service Unavailable\s+retrying in/);
    await page.getByLabel('Status').selectOption({ label: 'Any status' });
    await until(async () => (await rows().count()) === 5, 10_000, 'all rows again');
  });

  it('says waiting calls are on hold while the webhook is disabled, and why', async () => {
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await page.getByRole('heading', { name: /Search index/ }).getByText('Disabled').waitFor();
    const waiting = rows().filter({ hasText: 'Broken two' });
    await waiting.getByText(/On hold: the webhook is disabled\. Enable it to send\./).waitFor();
    assert.equal(await rows().filter({ hasText: 'On hold' }).count(), 2, 'the two calls waiting for a retry');
    assert.equal(await rows().filter({ hasText: 'Fine one' }).filter({ hasText: 'On hold' }).count(), 0);
    await screenshot(page, 'webhook-logs-on-hold.png');
    // Enabled again: the held calls are sent at once (and fail for good: it was their last attempt).
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('heading', { name: /Search index/ }).getByText('Enabled').waitFor();
    await until(async () => (await executions(h, stack, hook.uid, '&state=failed')).length === 3, 10_000, 'held calls sent');
    await until(async () => (await rows().filter({ hasText: 'On hold' }).count()) === 0, 10_000, 'no row on hold');
  });

  it('retries all failed calls after saying how many, and shows the progress', async () => {
    const before = rx.received.length;
    await page.getByRole('button', { name: 'Retry all failed…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry all failed calls' });
    await dialog.getByText(/Retry 3 failed calls in the whole log\?/).waitFor();
    await dialog.getByRole('button', { name: 'Retry 3' }).click();
    await dialog.getByText(/3 of 3 retried/).waitFor();
    assert.equal(await dialog.locator('progress').getAttribute('value'), '3');
    await until(() => rx.received.length >= before + 3, 10_000, 'three calls sent again');
    assert.deepEqual(
      rx.received
        .slice(before)
        .map((r) => r.json.data.entry.title)
        .sort(),
      ['Broken one', 'Broken three', 'Broken two'],
    );
    await page.getByText(/3 failed calls retried/).waitFor();
    await dialog.locator('.actions').getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await screenshot(page, 'webhook-logs-health.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });
    assert.deepEqual(
      errors.filter((x) => !/status of 409/.test(x)),
      [],
    );
  });

  it('shows a sparkline of the last 24 hours per webhook in the list', async () => {
    await page.goto(`${h.url}/#/webhooks`);
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'Search index' }) });
    const api = (await h.request('GET', `/v3/webhooks/${hook.uid}/stats`, { headers })).body.stats;
    assert.deepEqual([api.succeeded, api.failed], [2, 9], 'every attempt so far: 4 + 2 held + 3 retried failed');
    const spark = row.getByRole('img', { name: 'Attempts of Search index: 2 succeeded, 9 failed in the last 24 hours' });
    await spark.waitFor();
    assert.ok((await spark.locator('rect.bar-bad').count()) >= 1);
    await row.getByText('24 h').waitFor();
  });

  it('at phone width: the chart and the log fit without sideways scrolling', async () => {
    const { page: phone, errors: phoneErrors } = await newPage(browser, { width: 390, height: 844 });
    await signIn(phone, h.url, stack);
    await phone.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    await phone.locator('table.logs tbody tr').nth(4).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await screenshot(phone, 'webhook-logs-phone.png');
    // Call Details fits too: nothing in it scrolls sideways, long header values wrap.
    await phone.locator('table.logs tbody tr').first().getByRole('link', { name: /Call Details/ }).click();
    const details = phone.getByRole('dialog', { name: 'Call Details' });
    await details.getByRole('region', { name: 'Request' }).locator('table.kv').waitFor();
    // Elements reaching past the dialog's right edge (a <pre> scrolls inside itself, which is fine).
    const wide = await details.evaluate((d) => {
      const right = d.getBoundingClientRect().left + d.clientWidth;
      return Array.from(d.querySelectorAll('*'))
        .filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > right + 1)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}>${Math.round(right)}`);
    });
    assert.deepEqual(wide, [], 'parts of Call Details wider than the screen');
    const box = await details.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the dialog spans ${JSON.stringify(box)}`);
    await screenshot(phone, 'webhook-call-details-phone.png');
    assert.deepEqual(phoneErrors, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { until } from '../helpers/engine.ts';
import { browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/** Replay… on the Logs tab (#19 item 1), with live progress, in Debian's Chromium against a real Herald and receiver. */
const availability = browserAvailability();

describe('Replay… on the Logs tab', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let stack: { api_key: string; token: string };
  const headers = () => ({ api_key: stack.api_key, authorization: stack.token });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: headers(), ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald({ retryDelaysMs: [], circuitBreakerThreshold: 0 });
    stack = await h.newStack('Replay web site');
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }, 201);
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('replays the failed calls of the range from the Logs tab and shows the progress as it happens', async () => {
    // The receiver is down (503), then holds every answer until the test lets them go.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let down = true;
    const rx = await startReceiver(async (_r, res) => {
      if (down) return void (res.statusCode = 503);
      await gate;
    });
    try {
      const hook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'build', destinations: [{ target_url: rx.url }], channels: ['content_types.post.entries.create'] } }, 201)).webhook.uid;
      for (let i = 0; i < 12; i++) await ok('POST', '/v3/content_types/post/entries', { entry: { title: `Post ${i}` } }, 201);
      await until(async () => (await ok('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`)).count === 12, 30_000, '12 failed calls');
      down = false;

      await page.goto(`${h.url}/#/webhooks/${hook}/logs`);
      await page.getByRole('button', { name: 'Replay…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Replay calls' });
      await dialog.getByLabel('Failed calls').check();
      await dialog.getByRole('button', { name: 'Start replay' }).click();
      const status = dialog.getByRole('status');
      // Running: the receiver holds its answers, nothing has ended yet.
      await status.getByText('0 of 12 done (0 succeeded, 0 failed)').waitFor();
      await dialog.getByText(/Replaying 12 calls, in order for each entry/).waitFor();
      await screenshot(page, 'webhook-replay-progress.png');
      release();
      // The dialog follows the job by itself, to the end.
      await status.getByText('12 of 12 done (12 succeeded, 0 failed)').waitFor({ timeout: 30_000 });
      await dialog.getByText('Replay finished: 12 of 12 succeeded.').waitFor();
      assert.equal(await dialog.locator('progress').getAttribute('value'), '12');
      assert.equal(rx.received.length, 24, 'twelve failed attempts, then each call once');
      await dialog.locator('.actions').getByRole('button', { name: 'Close' }).click();
      assert.equal((await ok('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`)).count, 0);
      assert.deepEqual(errors, []);
    } finally {
      release();
      await rx.close();
    }
  });

  it('refuses a range the API refuses, saying why', async () => {
    const hook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'range', destinations: [{ target_url: 'http://127.0.0.1:9/' }], channels: ['*.*'] } }, 201)).webhook.uid;
    await page.goto(`${h.url}/#/webhooks/${hook}/logs`);
    await page.getByRole('button', { name: 'Replay…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay calls' });
    await dialog.getByLabel('From').fill('2020-01-01T00:00');
    await dialog.getByRole('button', { name: 'Start replay' }).click();
    await dialog.getByRole('alert').getByText(/at most 31 days after from/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { HTTP } from 'cloudevents';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { until } from '../helpers/engine.ts';
import { browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * The webhook form's side of #19: the payload format (CloudEvents and its mode), the payloads
 * (schema and example) of the events picked, and the test-event picker, in Debian's Chromium
 * against a real Herald and receivers.
 */
const availability = browserAvailability();

describe('payload format, payload schemas and test events in the webhook form', { skip: 'skip' in availability ? availability.skip : false }, () => {
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
    stack = await h.newStack('Payloads web site');
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }, 201);
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('makes a CloudEvents webhook in structured mode, shows the payload schema and example of the events picked, and sends a test event built from a real entry', async () => {
    const rx = await startReceiver();
    try {
      const entry = (await ok('POST', '/v3/content_types/post/entries', { entry: { title: 'A real post' } }, 201)).entry.uid;
      const hook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'events', destinations: [{ target_url: rx.url }], channels: ['content_types.post.entries.publish', 'content_types.post.entries.update'] } }, 201)).webhook.uid;
      await page.goto(`${h.url}/#/webhooks/${hook}`);
      const payloads = page.getByRole('region', { name: 'Payloads' });
      // The Contentstack format first: the schema of the first kind of event picked.
      await payloads.getByLabel('Payload of').waitFor();
      assert.deepEqual(await payloads.getByLabel('Payload of').locator('option').allTextContents(), ['entry.update (post)', 'entry.publish (post)']);
      await payloads.getByLabel('Payload of').selectOption({ label: 'entry.publish (post)' });
      assert.match(await payloads.getByLabel('Payload JSON Schema').innerText(), /"event": \{\s+"const": "publish"/);
      assert.match(await payloads.getByLabel('Example payload').innerText(), /"event": "publish"/);

      await page.getByLabel('Payload format').selectOption('cloudevents');
      await page.getByRole('radio', { name: /Structured/ }).check();
      // The schema view follows the format and mode, on the kind of event picked.
      await payloads.getByLabel('Example payload').getByText('"specversion": "1.0"').waitFor();
      assert.match(await payloads.getByLabel('Payload JSON Schema').innerText(), /"const": "herald\.entry\.publish"/);
      await screenshot(page, 'webhook-payloads-cloudevents.png', { locator: '.event-schemas' });
      await page.getByRole('button', { name: 'Save' }).click();
      await until(async () => (await ok('GET', `/v3/webhooks/${hook}`)).webhook.format === 'cloudevents', 10_000, 'the webhook to be saved');
      assert.deepEqual((await ok('GET', `/v3/webhooks/${hook}`)).webhook.format_options, { mode: 'structured' });

      // Send test event…: pick the kind of event and the entry it is built from.
      await page.getByRole('button', { name: 'Send test event…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test event' });
      await dialog.getByLabel('Event', { exact: true }).selectOption({ label: 'entry.update (post)' });
      assert.equal(await dialog.getByLabel('Channel').inputValue(), 'content_types.post.entries.update');
      await dialog.getByLabel('Built from').selectOption({ label: `A real post (${entry})` });
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await dialog.getByRole('status').getByText(new RegExp(`The test call succeeded\\. \\(200, \\d+ ms\\) entry\\.update of ${entry}\\.`)).waitFor();
      await rx.waitFor(1);
      const got = rx.received[0];
      assert.equal(got.headers['content-type'], 'application/cloudevents+json');
      const ce = HTTP.toEvent({ headers: got.headers, body: got.body }) as { type: string; data: any };
      assert.equal(ce.type, 'herald.entry.update');
      assert.equal(ce.data.data.entry.title, 'A real post');
      assert.deepEqual(errors, []);
    } finally {
      await rx.close();
    }
  });
});

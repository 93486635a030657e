import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/** The webhook form's Preview and Send test event buttons, in Debian's Chromium against a real Herald and receiver. */
const availability = browserAvailability();

describe('the webhook form’s Preview', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let stack: { api_key: string; token: string };
  let webhookUid: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Preview site');
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const ct = await h.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } },
    });
    assert.equal(ct.status, 201);
    const e = await h.request('POST', '/v3/content_types/post/entries', { headers, body: { entry: { title: 'Hello preview' } } });
    assert.equal(e.status, 201);
    const w = await h.request('POST', '/v3/webhooks', {
      headers,
      body: { webhook: { name: 'posts', destinations: [{ target_url: 'http://127.0.0.1:9/hook', http_basic_auth: 'u', http_basic_password: 'pw-never-shown' }], channels: ['content_types.entries.create'] } },
    });
    assert.equal(w.status, 201);
    webhookUid = w.body.webhook.uid;
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows which recent events the form as it stands would send, and the request for one', async () => {
    await page.goto(`${h.url}/#/webhooks/${webhookUid}`);
    await page.getByRole('button', { name: 'Preview' }).click();
    const dialog = page.getByRole('dialog', { name: 'Preview: the last 50 events' });
    await dialog.getByText('1 of 2 events would be sent.').waitFor();
    await dialog.getByText(/No: no channel matches content_types\.post\.create/).waitFor();
    await dialog.getByRole('button', { name: 'Show request' }).click();
    const request = dialog.getByRole('region', { name: 'The request it would send' });
    await request.getByText('"Hello preview"').first().waitFor();
    const text = await request.innerText();
    assert.match(text, /POST http:\/\/127\.0\.0\.1:9\/hook/);
    assert.match(text, /Basic \*\*\*\*/);
    assert.doesNotMatch(await page.content(), /pw-never-shown/);
    assert.deepEqual(errors, []);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('sends a test event of the kind picked, and shows what was sent', async () => {
    const rx = await startReceiver();
    try {
      const headers = { api_key: stack.api_key, authorization: stack.token };
      const w = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'to rx', destinations: [{ target_url: rx.url }], channels: ['content_types.post.entries.publish'] } } });
      assert.equal(w.status, 201);
      await page.goto(`${h.url}/#/webhooks/${w.body.webhook.uid}`);
      await page.getByRole('button', { name: 'Send test event…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test event' });
      assert.equal(await dialog.getByLabel('Channel').inputValue(), 'content_types.post.entries.publish');
      await dialog.getByRole('button', { name: 'Send', exact: true }).click();
      await dialog.getByRole('status').getByText(/The test call succeeded\. \(200, \d+ ms\) entry\.publish of a generated example\./).waitFor();
      await rx.waitFor(1);
      assert.equal(rx.received[0].headers['x-herald-test'], '1');
      assert.equal(rx.received[0].json.event, 'publish');
      assert.match(await dialog.getByRole('region', { name: 'Test event result' }).innerText(), /"Example Title"/);
      assert.deepEqual(errors, []);
    } finally {
      await rx.close();
    }
  });
});

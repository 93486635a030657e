import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * A webhook's notifiers (issue 19 item 6) on the webhook form: the addresses Herald emails when it
 * disables the webhook. Typed, saved, shown again; a bad address is named under the field.
 * Debian's Chromium, a real Herald.
 */
const availability = browserAvailability();

describe('the webhook form: email notifiers', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let stack: { api_key: string; token: string };

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Notifiers');
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const field = () => page.getByLabel('Email when Herald disables it');

  it('saves the addresses typed, shows them again, and names a bad one', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('Rebuild');
    await page.getByLabel('URL to notify').fill('http://127.0.0.1:9/hook');
    await page.getByRole('button', { name: '+ Add event' }).click();
    await field().fill('ops@example.com, web-team@example.com');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();

    const headers = { api_key: stack.api_key, authorization: stack.token };
    const list = await h.request('GET', '/v3/webhooks', { headers });
    const hook = list.body.webhooks.find((w: { name: string }) => w.name === 'Rebuild');
    assert.deepEqual(hook.notifiers, ['ops@example.com', 'web-team@example.com']);

    await page.goto(`${h.url}/#/webhooks/${hook.uid}`);
    await field().waitFor();
    assert.equal(await field().inputValue(), 'ops@example.com, web-team@example.com');
    await field().fill('ops@example.com, not-an-address');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/not-an-address/).first().waitFor();
    assert.equal(await field().getAttribute('aria-invalid'), 'true');
    const again = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
    assert.deepEqual(again.body.webhook.notifiers, ['ops@example.com', 'web-team@example.com'], 'nothing saved');

    await field().fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Webhook saved.').waitFor();
    const cleared = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
    assert.deepEqual(cleared.body.webhook.notifiers ?? [], [], 'an empty field removes every address');
    // The refused save's 422 shows in the console as a failed load; nothing else may.
    assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { until } from '../helpers/engine.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * The webhook form offers each destination kind (the URL field lists the schemes) and endpoint
 * authentication (issue 20 item 4): OAuth fields and mutual TLS PEMs, secrets write-only as the
 * basic auth password is; a broker URL hides HTTP authentication. Debian's Chromium, a real Herald.
 */
const availability = browserAvailability();

describe('the webhook form: destination kinds and endpoint authentication', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let stack: { api_key: string; token: string };
  const SECRET = 'oauth-client-secret-never-shown';

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Destinations');
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const stored = async (uid: string) => {
    const row = await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [uid]);
    return JSON.parse(row!.doc).destinations[0];
  };

  it('creates an OAuth webhook, never shows the client secret, and keeps it on save', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('OAuth receiver');
    await page.getByLabel('URL to notify').fill('http://127.0.0.1:9/hook');
    // The URL field lists every kind of destination.
    for (const scheme of ['amqp://', 'nats://', 'redis://']) await page.getByText(scheme, { exact: true }).first().waitFor();
    await page.getByLabel('Authentication', { exact: true }).selectOption('OAuth2');
    await page.getByLabel('Access token URL').fill('http://127.0.0.1:9/oauth/token');
    await page.getByLabel('Client ID').fill('herald');
    await page.getByLabel('Client secret').fill(SECRET);
    await page.getByLabel('Scope (optional)').fill('hooks:write');
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();

    const list = await h.request('GET', '/v3/webhooks', { headers: { api_key: stack.api_key, authorization: stack.token } });
    const uid = list.body.webhooks.find((w: { name: string }) => w.name === 'OAuth receiver').uid as string;
    const d = await stored(uid);
    assert.equal(d.client_secret, SECRET);
    assert.equal(d.access_token_url, 'http://127.0.0.1:9/oauth/token');
    assert.equal(d.scope, 'hooks:write');

    // Opened again: the secret is not in any input or anywhere on the page; saving keeps it.
    await page.goto(`${h.url}/#/webhooks/${uid}`);
    await page.getByLabel('Client ID').waitFor();
    assert.equal(await page.getByLabel('Client secret').inputValue(), '');
    assert.doesNotMatch(await page.content(), new RegExp(SECRET));
    await page.getByLabel('Name', { exact: true }).fill('OAuth receiver (renamed)');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Webhook saved.').waitFor();
    const after = await stored(uid);
    assert.equal(after.client_secret, SECRET);
    assert.deepEqual(errors, []);
  });

  it('hides HTTP authentication for a broker URL, and saves it with its password masked when shown', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('To RabbitMQ');
    await page.getByLabel('URL to notify').fill('amqp://herald:broker-password-123@127.0.0.1:5672/?exchange=content&routing_key=events');
    await page.getByText('authenticates with the user and password in its URL').waitFor();
    assert.equal(await page.getByLabel('Authentication', { exact: true }).count(), 0);
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    const list = await h.request('GET', '/v3/webhooks', { headers: { api_key: stack.api_key, authorization: stack.token } });
    const uid = list.body.webhooks.find((w: { name: string }) => w.name === 'To RabbitMQ').uid as string;
    await page.goto(`${h.url}/#/webhooks/${uid}`);
    const url = page.getByLabel('URL to notify');
    await url.waitFor();
    assert.equal(await url.inputValue(), 'amqp://herald:****-123@127.0.0.1:5672/?exchange=content&routing_key=events');
    await page.getByLabel('Name', { exact: true }).fill('To RabbitMQ (renamed)');
    await page.getByRole('button', { name: 'Save' }).click();
    // Saved as shown (masked): the stored password stays.
    await until(async () => (await h.request('GET', `/v3/webhooks/${uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } })).body.webhook.name === 'To RabbitMQ (renamed)', 10_000, 'the save');
    assert.equal((await stored(uid)).target_url, 'amqp://herald:broker-password-123@127.0.0.1:5672/?exchange=content&routing_key=events');
    assert.deepEqual(errors, []);
  });
});

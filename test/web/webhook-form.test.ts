import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * The webhook form's newer parts (authentication, mutual TLS, CloudEvents, notifiers, payloads,
 * event storms, Send test event…, Preview) walked as issue 18 asks of the whole app, in Chromium
 * against a real Herald: a problem goes as soon as it is fixed (field and banner), a dialog inside
 * the form does not save the form, every input is named and every id unique in every state, focus
 * moves to a header row just added, the signing secret's Copy buttons put it on the clipboard, and
 * at phone width nothing of it scrolls sideways.
 */
const availability = browserAvailability();

describe('the webhook form, audited', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
  const noProblems = { unnamed: [], duplicateIds: [] };
  /** Script errors, but not the failed loads of the refusals the tests provoke on purpose. */
  const scriptErrors = (errors: string[]) => errors.filter((x) => !/status of 4(22|09)/.test(x));

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    rx = await startReceiver();
    stack = await h.newStack('Form audit');
    headers = { api_key: stack.api_key, authorization: stack.token };
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Page', uid: 'page', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    ok(await h.request('POST', '/v3/content_types/page/entries', { headers, body: { entry: { title: 'Home' } } }));
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  const saved = async (name: string, over: Record<string, unknown> = {}) => {
    const r = await h.request('POST', '/v3/webhooks', {
      headers,
      body: { webhook: { name, destinations: [{ target_url: `${rx.url}/${name.toLowerCase().replace(/\W+/g, '-')}` }], channels: ['content_types.page.entries.publish'], ...over } },
    });
    ok(r);
    return r.body.webhook as { uid: string; name: string; updated_at: string };
  };
  const banner = (page: Page) => page.locator('.webhook-form .form-error');

  it('clears the problems of the newer fields as soon as they are fixed: notifiers, a condition without a value, OAuth fields', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    const hook = await saved('Notify ops');
    await page.goto(`${h.url}/#/webhooks/${hook.uid}`);

    // The server refuses an address: named under the field, and gone once the field is edited.
    const notifiers = page.getByLabel('Email when Herald disables it');
    await notifiers.fill('ops@example.com, not-an-address');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await banner(page).getByText(/The webhook was not saved/).waitFor();
    assert.equal(await notifiers.getAttribute('aria-invalid'), 'true');
    await notifiers.fill('ops@example.com, web@example.com');
    await banner(page).waitFor({ state: 'detached' });
    assert.equal(await notifiers.getAttribute('aria-invalid'), 'false');
    assert.equal(await page.getByText(/not-an-address/).count(), 0, 'the refused address is no longer named');

    // A condition without a value: the banner says so, and goes when the value is typed.
    await page.getByRole('button', { name: '+ Add condition' }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await banner(page).getByText(/Condition 1 under “When” needs a value/).waitFor();
    await page.locator('.condition-row').nth(0).getByLabel('Value').fill('production');
    await banner(page).waitFor({ state: 'detached' });

    // OAuth fields the form asks for before saving: each error goes with its own fix.
    await page.getByLabel('Authentication', { exact: true }).selectOption('OAuth2');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await banner(page).waitFor();
    const tokenUrl = page.getByLabel('Access token URL');
    await page.locator('.field.has-error', { has: tokenUrl }).waitFor();
    await tokenUrl.fill('https://auth.example.com/oauth/token');
    assert.equal(await page.locator('.field.has-error', { has: tokenUrl }).count(), 0);
    await banner(page).waitFor({ state: 'attached' });
    await page.getByLabel('Client ID').fill('herald');
    await page.getByLabel('Client secret').fill('client-secret-0123456789');
    await banner(page).waitFor({ state: 'detached' });
    await page.getByLabel('Authentication', { exact: true }).selectOption('None');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Webhook saved.').waitFor();
    const stored = (await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers })).body.webhook;
    assert.deepEqual(stored.notifiers, ['ops@example.com', 'web@example.com']);
    assert.deepEqual(stored.conditions, [{ equals: [{ doc: 'environment' }, 'production'] }]);
    assert.deepEqual(scriptErrors(errors), []);
  });

  it('sends a test event without saving the form around it', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    const hook = await saved('Unsaved edits');
    await page.goto(`${h.url}/#/webhooks/${hook.uid}`);
    // An edit not saved yet, then Send test event…: the dialog's Send must not save the webhook.
    await page.getByLabel('Name', { exact: true }).fill('Unsaved edits (renamed)');
    await page.getByRole('button', { name: 'Send test event…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a test event' });
    await dialog.getByRole('button', { name: 'Send', exact: true }).click();
    await dialog.getByRole('status').getByText(/The test call succeeded/).waitFor();
    // Had the form been submitted too, its save would have ended by now (it is sent before the test call's answer).
    await page.waitForTimeout(300);
    const stored = (await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers })).body.webhook;
    assert.equal(stored.name, 'Unsaved edits', 'the name typed is not saved by sending a test event');
    assert.equal(stored.updated_at, hook.updated_at);
    assert.equal(await page.getByText('Webhook saved.').count(), 0);
    assert.equal(await dialog.isVisible(), true, 'the dialog and its result stay');
    assert.deepEqual(await accessibilityProblems(page), noProblems, 'the test event dialog');
    await dialog.getByRole('button', { name: 'Close' }).click();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Unsaved edits (renamed)', 'the edit is still there to save');
    assert.deepEqual(scriptErrors(errors), []);
  });

  it('names every input and keeps ids unique in every part of the form, and focuses a header row just added', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    const hook = await saved('Every part', { notifiers: ['ops@example.com'] });
    await page.goto(`${h.url}/#/webhooks/${hook.uid}`);
    await page.getByLabel('Name', { exact: true }).waitFor();
    const check = async (what: string) => assert.deepEqual(await accessibilityProblems(page), noProblems, what);

    await page.getByRole('button', { name: 'Preview', exact: true }).click();
    const preview = page.getByRole('dialog', { name: /Preview/ });
    await preview.getByText(/events would be sent/).waitFor();
    await check('the preview dialog');
    await preview.getByRole('button', { name: 'Close' }).click();

    for (const auth of ['Basic', 'OAuth2', 'Bearer', 'None']) {
      await page.getByLabel('Authentication', { exact: true }).selectOption(auth);
      await check(`authentication ${auth}`);
    }
    await page.getByText('Mutual TLS (https only)').click();
    await page.getByLabel('Client certificate (PEM)').waitFor();
    await check('mutual TLS open');

    await page.getByRole('button', { name: 'Add a custom header' }).click();
    assert.equal(await page.getByLabel('Header 1 name').evaluate((el) => el === document.activeElement), true, 'focus moves to the header just added');
    await page.getByLabel('Header 1 name').fill('X-One');
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    assert.equal(await page.getByLabel('Header 2 name').evaluate((el) => el === document.activeElement), true, 'and to the next one');
    await check('two header rows');

    await page.getByLabel('Payload format').selectOption('cloudevents');
    await page.getByRole('radio', { name: /Structured/ }).waitFor();
    await check('CloudEvents with its mode');
    await page.getByLabel('Payload format').selectOption('contentstack');
    await page.getByLabel('Send events in batches').check();
    await page.getByLabel('Limit the rate').check();
    await page.getByLabel('Events per call at most').waitFor();
    await check('event storms');
    await page.getByRole('tab', { name: 'Code View' }).click();
    await check('the Code View');
    await page.getByRole('tab', { name: 'Conditional View' }).click();

    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    await page.getByRole('button', { name: 'Replay…' }).click();
    await page.getByRole('dialog', { name: 'Replay calls' }).getByLabel('From').waitFor();
    await check('the replay dialog');
    assert.deepEqual(scriptErrors(errors), []);
  });

  it('copies a new signing secret, and a revealed one, to the clipboard', async () => {
    const { page, errors } = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    await signIn(page, h.url, stack);
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('Copied secret');
    await page.getByLabel('URL to notify').fill(`${rx.url}/copied`);
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const created = page.getByRole('dialog', { name: 'Webhook created' });
    const shown = (await created.locator('.secret-box').innerText()).trim();
    await created.getByRole('button', { name: 'Copy the signing secret' }).click();
    await created.getByText('The signing secret is on your clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);
    await created.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: /Copied secret/, level: 1 }).waitFor();
    const uid = new URL(page.url()).hash.split('/')[2]!;
    const api = (await h.request('GET', `/v3/webhooks/${uid}/secret`, { headers })).body.signing_secret;
    assert.equal(shown, api, 'the secret shown is the one that signs');

    await page.evaluate(() => navigator.clipboard.writeText(''));
    await page.getByRole('button', { name: 'Reveal signing secret' }).click();
    await page.getByRole('button', { name: 'Copy the signing secret' }).click();
    await page.getByText('The signing secret is on your clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), api);
    assert.deepEqual(scriptErrors(errors), []);
  });

  it('fits a phone with every part open: the form, Send test event…, Replay…, and the token and builder screens', async () => {
    const { page, errors } = await newPage(browser, { width: 390, height: 844 });
    await signIn(page, h.url, stack);
    const hook = await saved('Phone');
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    /** What reaches past the right edge of the screen (outside boxes that scroll by themselves), for the failure message. */
    const wide = () =>
      page.evaluate(() => {
        const right = document.documentElement.clientWidth;
        return Array.from(document.querySelectorAll('body *'))
          .filter((el) => !el.parentElement?.closest('pre') && el.getBoundingClientRect().right > right + 0.5)
          .map((el) => `${el.tagName.toLowerCase()}.${String(el.className).replace(/\s+/g, '.')} right=${Math.round(el.getBoundingClientRect().right)}`)
          .concat(
            // Text running past its box (a word too long to wrap).
            (() => {
              const out: string[] = [];
              const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                if (n.parentElement?.closest('pre')) continue;
                const range = document.createRange();
                range.selectNodeContents(n);
                const r = range.getBoundingClientRect();
                if (r.width && r.right > right + 0.5) out.push(`text "${n.textContent!.trim().slice(0, 40)}" in ${n.parentElement!.tagName.toLowerCase()}.${n.parentElement!.className} right=${Math.round(r.right)}`);
              }
              return out;
            })(),
          )
          .slice(-8);
      });
    /** Elements of an open dialog reaching past its right edge (a <pre> scrolls inside itself). */
    const wideInDialog = (name: string | RegExp) =>
      page.getByRole('dialog', { name }).evaluate((d) => {
        const right = d.getBoundingClientRect().left + d.clientWidth;
        return Array.from(d.querySelectorAll('*'))
          .filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > right + 1)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
      });

    await page.goto(`${h.url}/#/webhooks/${hook.uid}`);
    await page.getByLabel('Name', { exact: true }).waitFor();
    await page.getByLabel('Authentication', { exact: true }).selectOption('OAuth2');
    await page.getByText('Mutual TLS (https only)').click();
    await page.getByRole('button', { name: 'Add a custom header' }).click();
    await page.getByLabel('Send events in batches').check();
    await page.getByLabel('Payload format').selectOption('cloudevents');
    await page.getByRole('region', { name: 'Payloads' }).getByLabel('Example payload').waitFor();
    assert.ok((await overflow()) <= 0, `the form scrolls sideways by ${await overflow()}px: ${(await wide()).join(', ')}`);

    await page.getByRole('button', { name: 'Send test event…' }).click();
    const test = page.getByRole('dialog', { name: 'Send a test event' });
    await test.getByRole('button', { name: 'Send', exact: true }).click();
    await test.getByRole('region', { name: 'Test event result' }).waitFor();
    assert.deepEqual(await wideInDialog('Send a test event'), [], 'Send test event… fits');
    await test.getByRole('button', { name: 'Close' }).click();

    await page.goto(`${h.url}/#/webhooks/${hook.uid}/logs`);
    await page.getByRole('button', { name: 'Replay…' }).click();
    await page.getByRole('dialog', { name: 'Replay calls' }).getByLabel('From').waitFor();
    assert.deepEqual(await wideInDialog('Replay calls'), [], 'Replay… fits');
    await page.getByRole('dialog', { name: 'Replay calls' }).getByRole('button', { name: 'Cancel' }).click();

    for (const [path, heading] of [
      ['tokens', 'Management tokens'],
      ['tokens/delivery', 'Delivery tokens'],
      ['types/new', 'New content type'],
    ]) {
      await page.goto(`${h.url}/#/${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      assert.ok((await overflow()) <= 0, `${path} scrolls sideways by ${await overflow()}px: ${(await wide()).join(', ')}`);
    }
    assert.deepEqual(scriptErrors(errors), []);
  });
});

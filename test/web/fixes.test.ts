import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * Bugs a content team hit in the web app (issue 18), each walked in Chromium: an archived entry is
 * read-only and Unarchive gets it back (no action that silently does nothing); the badge says
 * Changed once a published entry was edited; a webhook form's errors go once the user fixed them.
 */
const availability = browserAvailability();

describe('web app fixes', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let headers: Record<string, string>;
  let stack: { api_key: string; token: string };
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Fixes');
    headers = { api_key: stack.api_key, authorization: stack.token };
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } }));
    ok(
      await h.request('POST', '/v3/content_types', {
        headers,
        body: { content_type: { title: 'Page', uid: 'page', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] } },
      }),
    );
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  const entry = async (title: string) => {
    const r = await h.request('POST', '/v3/content_types/page/entries', { headers, body: { entry: { title, body: 'Text.' } } });
    ok(r);
    return r.body.entry.uid as string;
  };
  const stored = async (uid: string) => (await h.request('GET', `/v3/content_types/page/entries/${uid}`, { headers })).body.entry;

  it('shows an archived entry read-only, and Unarchive makes it editable again', async () => {
    const uid = await entry('Old campaign');
    ok(await h.request('POST', `/v3/content_types/page/entries/${uid}/archive`, { headers, body: {} }));
    await page.goto(`${h.url}/#/content/page/${uid}`);
    const heading = page.getByRole('heading', { name: /Old campaign/ });
    await heading.getByText('Archived').waitFor();
    await page.getByText(/This entry is archived, so it is read-only/).waitFor();
    assert.equal(await page.getByLabel('Body').isDisabled(), true, 'no typing into what cannot be saved');
    assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Publish…', exact: true }).isDisabled(), true);

    await page.getByRole('button', { name: 'Unarchive' }).click();
    await heading.getByText('Draft').waitFor();
    assert.equal((await stored(uid))._archived, false);
    assert.equal(await page.getByLabel('Body').isDisabled(), false);
    await page.getByLabel('Body').fill('Text, back in use.');
    await page.getByText('Saved automatically').waitFor();
    assert.equal((await stored(uid)).body, 'Text, back in use.');
    assert.deepEqual(errors, []);
  });

  it('says Changed once a published entry was edited, and Published again after publishing', async () => {
    const uid = await entry('Pricing');
    ok(await h.request('POST', `/v3/content_types/page/entries/${uid}/publish`, { headers, body: { entry: { environments: ['production'], locales: ['en-us'] } } }));
    await page.goto(`${h.url}/#/content/page/${uid}`);
    const heading = page.getByRole('heading', { name: /Pricing/ });
    await heading.getByText('Published', { exact: true }).waitFor();

    await page.getByLabel('Body').fill('New prices from May.');
    await page.getByText('Saved automatically').waitFor();
    await heading.getByText('Changed', { exact: true }).waitFor();
    assert.equal(await heading.getByText('Published', { exact: true }).count(), 0);

    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    const publish = page.getByRole('dialog', { name: 'Publish entry' });
    await publish.getByRole('button', { name: 'Publish', exact: true }).click();
    await publish.waitFor({ state: 'detached' });
    await heading.getByText('Published', { exact: true }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('clears a webhook form error, field and banner, as soon as the field is fixed, and warns of a duplicate name', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByRole('heading', { name: 'New Webhook' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Loopback');
    await page.getByLabel('URL to notify').fill('http://localhost:9/hook');
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const banner = page.locator('.form-error');
    await banner.getByText(/The webhook was not saved/).waitFor();
    const url = page.getByLabel('URL to notify');
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    await page.getByText(/is a local host name/).first().waitFor();

    await url.fill('https://hooks.example.com/herald');
    await banner.waitFor({ state: 'detached' });
    assert.equal(await page.getByText(/is a local host name/).count(), 0, 'the field error went with the fix');
    assert.equal(await url.getAttribute('aria-invalid'), 'false');

    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: /Loopback/, level: 1 }).waitFor();

    // A second webhook with the same name (in another case) is pointed out before saving.
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByRole('heading', { name: 'New Webhook' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('loopback ');
    await page.getByText('Another webhook is already named “Loopback”').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Loopback 2');
    assert.equal(await page.getByText(/Another webhook is already named/).count(), 0);
    assert.deepEqual(
      errors.filter((x) => !/status of 422/.test(x)),
      [],
    );
  });
});

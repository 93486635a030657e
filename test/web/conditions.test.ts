import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { executions, until } from '../helpers/engine.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * A condition built in the Conditional View (field, operator, value rows, not only JSON in the
 * Code View) is saved with the webhook and decides what is delivered. On the way: focus moves to a
 * row just added, and every id on the page is unique (the Code View's tab and textarea shared one).
 */
const availability = browserAvailability();

describe('conditions in the Conditional View', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let entryUid: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    rx = await startReceiver();
    stack = await h.newStack('Conditions');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
    for (const name of ['staging', 'production']) ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'News', uid: 'news', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    const e = await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title: 'Launch day' } } });
    ok(e);
    entryUid = e.body.entry.uid;
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  it('builds "environment is production" as a row, saves it, and only production publishes are delivered', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('Production builds');
    await page.getByLabel('URL to notify').fill(`${rx.url}/build`);

    await page.getByRole('button', { name: '+ Add event' }).click();
    const event = page.locator('.row-editor').nth(0);
    assert.equal(await event.getByLabel('Module').evaluate((el) => el === document.activeElement), true, 'focus moves to the event just added');
    await event.getByLabel('Action').selectOption('publish');

    await page.getByRole('button', { name: '+ Add condition' }).click();
    const condition = page.locator('.condition-row').nth(0);
    assert.equal(await condition.getByLabel('Field').evaluate((el) => el === document.activeElement), true, 'focus moves to the condition just added');
    await condition.getByLabel('Field').selectOption({ label: 'Environment (publish and unpublish)' });
    await condition.getByLabel('Operator').selectOption({ label: 'is' });
    // Saving with an empty value is refused in words, not saved without the condition.
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('.form-error').getByText(/Condition 1 under “When” needs a value/).waitFor();
    await condition.getByLabel('Value').fill('production');

    // The Code View shows the same condition; ids stay unique in either view.
    const duplicateIds = () =>
      page.evaluate(() => {
        const seen = new Map<string, number>();
        for (const el of Array.from(document.querySelectorAll('[id]'))) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
        return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
      });
    assert.deepEqual(await duplicateIds(), []);
    await page.getByRole('tab', { name: 'Code View' }).click();
    const code = JSON.parse(await page.getByLabel('Channels and conditions as JSON').inputValue());
    assert.deepEqual(code.conditions, [{ equals: [{ doc: 'environment' }, 'production'] }]);
    assert.deepEqual(await duplicateIds(), []);
    await page.getByRole('tab', { name: 'Conditional View' }).click();
    assert.equal(await page.locator('.condition-row').nth(0).getByLabel('Value').inputValue(), 'production');
    await screenshot(page, 'webhook-conditions.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] }, 'every input of the webhook form is named');

    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    const hook = (await h.request('GET', '/v3/webhooks', { headers })).body.webhooks.find((w: { name: string }) => w.name === 'Production builds');
    assert.deepEqual(hook.conditions, [{ equals: [{ doc: 'environment' }, 'production'] }]);

    // Staging first, then production: one delivery, production's.
    const publish = (env: string) =>
      h.request('POST', `/v3/content_types/news/entries/${entryUid}/publish`, { headers, body: { entry: { environments: [env], locales: ['en-us'] } } });
    assert.equal((await publish('staging')).status, 200);
    assert.equal((await publish('production')).status, 200);
    await rx.waitFor(1);
    await until(async () => (await executions(h, stack, hook.uid)).every((x) => x.state === 'succeeded'), 10_000, 'delivered');
    assert.deepEqual(
      rx.received.map((r) => r.json.data.environment.name),
      ['production'],
    );
    assert.equal((await executions(h, stack, hook.uid)).length, 1);
    assert.deepEqual(
      errors.filter((x) => !/status of 422/.test(x)),
      [],
    );
  });
});

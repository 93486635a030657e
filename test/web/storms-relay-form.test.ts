import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { executions, until } from '../helpers/engine.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * The webhook form's event-storm fields (#20: batch, debounce, rate limit, as the API names them)
 * and a relay webhook (`herald listen`) in the web app, in Chromium against a real Herald, a real
 * receiver and a real `herald listen` child process: what the form sets is what the API stores and
 * what deliveries do; a relay webhook says so in the list and on its page, with its listeners and
 * the command that connects one, and that command, run as shown, relays the calls.
 */
const availability = browserAvailability();

describe('event storms and relay webhooks in the webhook form', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  const children: Array<ReturnType<typeof spawn>> = [];
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
  const create = async (title: string) => ok(await h.request('POST', '/v3/content_types/news/entries', { headers, body: { entry: { title } } }));
  const stored = async (uid: string) => (await h.request('GET', `/v3/webhooks/${uid}`, { headers })).body.webhook;
  const banner = () => page.locator('.webhook-form .form-error');

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald({ retryDelaysMs: [500, 500, 500, 500] });
    rx = await startReceiver();
    stack = await h.newStack('Storms form');
    headers = { api_key: stack.api_key, authorization: stack.token };
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'News', uid: 'news', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } }));
    browser = await launch();
    ({ page, errors } = await newPage(browser));
    await signIn(page, h.url, stack);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  it('sets batching, debounce and a rate limit as the API names them, names what it refuses until fixed, and the calls come batched', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('Search index');
    await page.getByLabel('URL to notify').fill(`${rx.url}/index`);
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.locator('.row-editor').nth(0).getByLabel('Action').selectOption('create');

    await page.getByLabel('Send events in batches').check();
    await page.getByLabel('Events per call at most').fill('3');
    await page.getByLabel('Wait for more events, ms').fill('60000');
    await page.getByLabel('Limit the rate').check();
    await page.getByLabel('Debounce, ms').fill('300001');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await banner().getByText(/The webhook was not saved/).waitFor();
    await page.getByText(/rate limit cannot be combined with batches/).waitFor();
    const debounce = page.getByLabel('Debounce, ms');
    assert.equal(await debounce.getAttribute('aria-invalid'), 'true');
    await page.locator('.field', { has: debounce }).getByText(/must be a whole number of milliseconds from 0 to 300000/).waitFor();
    // Each goes with its own fix: the rate limit unticked, then the debounce typed again.
    await page.getByLabel('Limit the rate').uncheck();
    assert.equal(await page.getByText(/cannot be combined with batches/).count(), 0);
    await banner().waitFor({ state: 'attached' });
    await debounce.fill('0');
    await banner().waitFor({ state: 'detached' });
    assert.equal(await debounce.getAttribute('aria-invalid'), 'false');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });
    // In the middle of the screen, clear of the sticky top bar.
    await page.locator('.form-section.storms').evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await screenshot(page, 'webhook-form-storms.png', { locator: '.form-section.storms' });

    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    await page.getByRole('heading', { name: /Search index/, level: 1 }).waitFor();
    const uid = new URL(page.url()).hash.split('/')[2]!;
    const saved = await stored(uid);
    assert.deepEqual([saved.batch, saved.debounce_ms, saved.rate_limit], [{ max_events: 3, window_ms: 60000 }, 0, null]);

    // Three entries created: one call carrying the three events (the batch is full before its window ends).
    for (const title of ['One', 'Two', 'Three']) await create(title);
    await rx.waitFor(1, 15_000);
    const call = rx.received.find((r) => r.url === '/index')!;
    assert.deepEqual(
      call.json.events.map((e: { data: { entry: { title: string } } }) => e.data.entry.title),
      ['One', 'Two', 'Three'],
    );

    // Shown again on edit; batches off and a rate limit of 2 a minute instead.
    await page.reload();
    assert.equal(await page.getByLabel('Events per call at most').inputValue(), '3');
    assert.equal(await page.getByLabel('Wait for more events, ms').inputValue(), '60000');
    await page.getByLabel('Send events in batches').uncheck();
    await page.getByLabel('Limit the rate').check();
    await page.getByLabel('Calls at most').fill('2');
    await page.getByLabel('Per', { exact: true }).selectOption('minute');
    await page.getByLabel('Debounce, ms').fill('1500');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Webhook saved.').waitFor();
    const edited = await stored(uid);
    assert.deepEqual([edited.batch, edited.debounce_ms, edited.rate_limit], [null, 1500, { max: 2, per: 'minute' }]);
    assert.deepEqual(errors, []);
  });

  it('shows a relay webhook as such, with its listeners and the command that connects one, which relays the calls when run as shown', async () => {
    await page.goto(`${h.url}/#/webhooks/new`);
    await page.getByLabel('Name', { exact: true }).fill('My laptop');
    await page.getByLabel('URL to notify').fill('relay:');
    await page.getByRole('group', { name: 'Relay' }).getByText(/Herald connects to no address/).waitFor();
    await page.getByRole('button', { name: '+ Add event' }).click();
    await page.locator('.row-editor').nth(0).getByLabel('Action').selectOption('create');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByRole('dialog', { name: 'Webhook created' }).getByRole('button', { name: 'Done' }).click();
    const heading = page.getByRole('heading', { name: /My laptop/, level: 1 });
    await heading.getByText('Relay', { exact: true }).waitFor();
    const uid = new URL(page.url()).hash.split('/')[2]!;
    assert.equal((await stored(uid)).destinations[0].target_url, 'relay:');

    const relay = page.getByRole('group', { name: 'Relay' });
    await relay.getByText(/No herald listen is connected now/).waitFor();
    const command = await relay.getByLabel('Command that connects a listener').innerText();
    assert.ok(command.includes(`HERALD_API_KEY=${stack.api_key}`) && command.includes(`--url ${h.url} --webhook ${uid} --to `), command);
    assert.ok(!command.includes(stack.token), 'the management token is not written into the page');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });

    // Run what the page says, with the token and a local URL of one's own.
    const args = command.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
    const listenArgs = args.slice(args.indexOf('listen') + 1).map((a, i, all) => (all[i - 1] === '--to' ? `${rx.url}/laptop` : a));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'listen', ...listenArgs], {
      env: { ...process.env, HERALD_API_KEY: stack.api_key, HERALD_TOKEN: stack.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    await until(() => out.includes(`relaying webhook ${uid}`), 20_000, `the listener to connect: ${out}`);
    await relay.getByRole('button', { name: 'Check again' }).click();
    await relay.getByText('1 listener connected now.').waitFor();
    await screenshot(page, 'webhook-relay.png', { locator: '.relay-info' });

    await create('Through the relay');
    await until(() => rx.received.some((r) => r.url === '/laptop'), 15_000, 'the relayed call');
    assert.equal(rx.received.find((r) => r.url === '/laptop')!.json.data.entry.title, 'Through the relay');
    await until(async () => (await executions(h, stack, uid)).some((x) => x.state === 'succeeded'), 10_000, 'the relayed call in the log');

    // The list says where its calls go instead of an address.
    await page.goto(`${h.url}/#/webhooks`);
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'My laptop' }) });
    await row.locator('[data-label="URL to notify"]').getByText('Relay', { exact: true }).waitFor();
    assert.match(await row.locator('[data-label="URL to notify"]').innerText(), /herald listen/);
    child.kill('SIGTERM');
    assert.deepEqual(errors, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, until, executions } from '../helpers/engine.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * Every screen of the web app, as a new user meets it, at laptop and at phone width (issue 18:
 * "every input named", "unique ids", "phone widths"): the webhook list, form and Logs, content
 * types, entries, the entry editor with a field of every type (groups, global fields, references,
 * files, multiple values), a relay webhook, Call Details of a batch call, the content type builder,
 * assets, both token screens and a delivery token's Edit dialog. On each: every form control has a name a screen reader can say, no id
 * is used twice, nothing makes the page scroll sideways, and nothing in an open dialog reaches past
 * its edge. Chromium against a real Herald, with data on every screen.
 */
const availability = browserAvailability();

/** Each screen: its path, how its heading starts, and (where two share a heading) what only it shows. */
interface Made {
  hook: string;
  entry: string;
  /** A relay webhook (herald listen), and a batching webhook with a batch call. */
  relay: string;
  batched: string;
  batchCall: string;
  /** A delivery token, for its Edit dialog. */
  deliveryToken: string;
}

const SCREENS = ({ hook, entry, relay, batched, batchCall, deliveryToken }: Made): Array<{ path: string; heading: RegExp; ready?: string }> => [
  { path: 'webhooks', heading: /^Webhooks$/ },
  { path: 'webhooks/new', heading: /^New Webhook$/ },
  { path: `webhooks/${hook}`, heading: /^Site build/, ready: 'form.webhook-form' },
  { path: `webhooks/${hook}/logs`, heading: /^Site build/, ready: 'form.filters' },
  { path: `webhooks/${relay}`, heading: /^My laptop/, ready: '.relay-info pre' },
  { path: `webhooks/${batched}/logs/${batchCall}`, heading: /^Search index/, ready: 'dialog[open] section.batch' },
  { path: 'content', heading: /^Content$/ },
  { path: 'content/article', heading: /^Article$/ },
  { path: 'content/article/new', heading: /^New Article entry/ },
  { path: `content/article/${entry}`, heading: /^Every field/ },
  { path: 'types/new', heading: /^New content type$/ },
  { path: 'types/article', heading: /^Fields of Article$/ },
  { path: 'assets', heading: /^Assets$/ },
  { path: 'tokens', heading: /^Management tokens$/ },
  { path: 'tokens/delivery', heading: /^Delivery tokens$/ },
  { path: `tokens/delivery/${deliveryToken}`, heading: /^Delivery tokens$/, ready: 'dialog[open] form.delivery-token-edit' },
];

describe('every screen: named inputs, unique ids, no sideways scrolling', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let stack: { api_key: string; token: string };
  let made: Made;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    rx = await startReceiver();
    stack = await h.newStack('Every screen');
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: any }) => (assert.ok(r.status < 300, JSON.stringify(r.body)), r.body);
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Person', uid: 'person', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text' }] } } }));
    ok(await h.request('POST', '/v3/content_types/person/entries', { headers, body: { entry: { title: 'Ada Lovelace' } } }));
    ok(await h.request('POST', '/v3/global_fields', { headers, body: { global_field: { title: 'SEO', uid: 'seo', schema: [{ uid: 'description', display_name: 'Description', data_type: 'text' }] } } }));
    ok(
      await h.request('POST', '/v3/content_types', {
        headers,
        body: {
          content_type: {
            title: 'Article',
            uid: 'article',
            schema: [
              { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
              { uid: 'summary', display_name: 'Summary', data_type: 'text', field_metadata: { multiline: true } },
              { uid: 'rating', display_name: 'Rating', data_type: 'number' },
              { uid: 'featured', display_name: 'Featured', data_type: 'boolean' },
              { uid: 'published_on', display_name: 'Published on', data_type: 'isodate' },
              { uid: 'meta', display_name: 'Meta', data_type: 'json' },
              { uid: 'hero', display_name: 'Hero image', data_type: 'file' },
              { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['person'] },
              { uid: 'keywords', display_name: 'Keyword', data_type: 'text', multiple: true },
              { uid: 'box', display_name: 'Box', data_type: 'group', schema: [{ uid: 'note', display_name: 'Note', data_type: 'text' }] },
              { uid: 'sections', display_name: 'Section', data_type: 'group', multiple: true, schema: [{ uid: 'heading', display_name: 'Heading', data_type: 'text' }] },
              { uid: 'seo', display_name: 'SEO', data_type: 'global_field', reference_to: 'seo' },
            ],
          },
        },
      }),
    );
    const entry: string = ok(
      await h.request('POST', '/v3/content_types/article/entries', {
        headers,
        body: { entry: { title: 'Every field', keywords: ['one', 'two'], sections: [{ heading: 'First' }, { heading: 'Second' }], box: { note: 'n' }, seo: { description: 'd' } } },
      }),
    ).entry.uid;
    const hook = (await createWebhook(h, stack, `${rx.url}/build`, { name: 'Site build', channels: ['content_types.entries.update'] })).uid;
    const relay = ok(await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'My laptop', destinations: [{ target_url: 'relay:' }], channels: ['content_types.entries.publish'] } } })).webhook.uid;
    const batched = (await createWebhook(h, stack, `${rx.url}/index`, { name: 'Search index', channels: ['content_types.entries.update'], batch: { max_events: 2, window_ms: 60_000 } })).uid;
    ok(await h.request('PUT', `/v3/content_types/article/entries/${entry}`, { headers, body: { entry: { title: 'Every field' } } }));
    ok(await h.request('PUT', '/v3/content_types/person/entries/' + ok(await h.request('GET', '/v3/content_types/person/entries', { headers })).entries[0].uid, { headers, body: { entry: { title: 'Ada King, Countess of Lovelace, whose name is long enough to wrap' } } }));
    await until(async () => (await executions(h, stack, hook)).some((x) => x.state === 'succeeded'), 10_000, 'a call in the log');
    const batch = await until(async () => {
      const list = await executions(h, stack, batched);
      return list.length === 2 && list.every((x) => x.state === 'succeeded') ? list : undefined;
    }, 15_000, 'the batch call');
    const deliveryToken: string = ok(
      await h.request('POST', '/v3/stacks/delivery_tokens', { headers, body: { token: { name: 'Site', scope: [{ module: 'environment', environments: ['production'] }] } } }),
    ).token.uid;
    made = { hook, entry, relay, batched, batchCall: batch![0]!.uid, deliveryToken };
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await rx?.close();
    await h?.close();
  });

  const visit = async (page: Page, s: { path: string; heading: RegExp; ready?: string }) => {
    await page.goto(`${h.url}/#/${s.path}`);
    await page.waitForFunction(
      ([source, ready]) => {
        const h1 = document.querySelector('main h1')?.textContent?.trim() ?? '';
        return new RegExp(source!).test(h1) && (!ready || !!document.querySelector(`main ${ready}`));
      },
      [s.heading.source, s.ready ?? ''] as const,
      { timeout: 15_000 },
    );
    // Loaded: no spinner left in the screen.
    await page.waitForFunction(() => !document.querySelector('main .spinner'), undefined, { timeout: 10_000 });
  };

  for (const [width, height, label] of [
    [1280, 800, 'laptop'],
    [390, 844, 'phone'],
  ] as const) {
    it(`at ${label} width (${width} px)`, async () => {
      const { page, errors } = await newPage(browser, { width, height });
      await signIn(page, h.url, stack);
      const problems: string[] = [];
      for (const s of SCREENS(made)) {
        await visit(page, s);
        const a11y = await accessibilityProblems(page);
        for (const u of a11y.unnamed) problems.push(`#/${s.path}: unnamed ${u}`);
        for (const d of a11y.duplicateIds) problems.push(`#/${s.path}: id used twice: ${d}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 0) problems.push(`#/${s.path}: scrolls sideways by ${overflow}px`);
        // An open dialog (Call Details) sits above the page: nothing in it may reach past its edge (a <pre> scrolls inside itself).
        const wide = await page.evaluate(() => {
          const d = document.querySelector('dialog[open]');
          if (!d) return [];
          const right = Math.min(d.getBoundingClientRect().left + d.clientWidth, document.documentElement.clientWidth);
          return Array.from(d.querySelectorAll('*'))
            .filter((el) => !el.parentElement?.closest('pre') && el.getBoundingClientRect().right > right + 1)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        });
        for (const w of wide) problems.push(`#/${s.path}: ${w} reaches past the dialog's edge`);
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(errors, []);
    });
  }
});

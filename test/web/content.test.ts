import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { browserAvailability, launch, newPage, signIn } from './helpers/browser.ts';

/**
 * Content in the web app: the entry editor generated from a content type's schema (every field
 * type, multiple and groups), auto-save while typing, Save, errors next to their field, publish,
 * unpublish, archive, delete; asset upload and listing. And the app at phone width.
 */
const availability = browserAvailability();

/** A real 2x2 PNG, so the asset list can show its preview. */
function png(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = Buffer.from([0, 67, 56, 202, 255, 255, 255, 0, 255, 255, 255, 67, 56, 202]);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

describe('content in the web app', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;
  let personUid: string;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Content');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'staging' } } }));
    ok(await h.request('POST', '/v3/environments', { headers, body: { environment: { name: 'production' } } }));
    ok(await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Person', uid: 'person', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text' }] } } }));
    const ada = await h.request('POST', '/v3/content_types/person/entries', { headers, body: { entry: { title: 'Ada Lovelace' } } });
    ok(ada);
    personUid = ada.body.entry.uid;
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
              {
                uid: 'seo',
                display_name: 'SEO',
                data_type: 'group',
                schema: [
                  { uid: 'description', display_name: 'Description', data_type: 'text' },
                  { uid: 'noindex', display_name: 'Hide from search', data_type: 'boolean' },
                ],
              },
              { uid: 'sections', display_name: 'Section', data_type: 'group', multiple: true, schema: [{ uid: 'heading', display_name: 'Heading', data_type: 'text' }] },
            ],
          },
        },
      }),
    );
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('uploads an asset, then creates and edits an entry through the generated editor, which auto-saves', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);

    // Assets: empty, then an upload with its preview.
    await page.getByRole('link', { name: 'Assets' }).click();
    await page.getByText('No assets yet').waitFor();
    await page.getByLabel('File').setInputFiles({ name: 'hero.png', mimeType: 'image/png', buffer: png() });
    await page.getByLabel('Title (optional)').fill('Hero');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.asset-card', { hasText: 'hero.png' }).locator('img[src^="blob:"]').waitFor();
    const assets = await h.request('GET', '/v3/assets', { headers });
    assert.equal(assets.body.assets.length, 1);
    const assetUid = assets.body.assets[0].uid;

    // A new entry: the title is all it needs to be created.
    await page.getByRole('link', { name: 'Content' }).click();
    await page.getByRole('link', { name: /Article/ }).click();
    await page.getByText('No Article entries yet').waitFor();
    await page.getByRole('link', { name: 'Create the first entry' }).click();
    await page.getByLabel('Title *').fill('Launch notes');
    await page.getByRole('button', { name: 'Create entry' }).click();
    await page.getByRole('toolbar', { name: 'Entry actions' }).getByRole('button', { name: 'Save', exact: true }).waitFor();
    const entryUid = /#\/content\/article\/(blt\w+)/.exec(page.url())![1];

    // Every kind of field, typed as a person would.
    await page.getByLabel('Summary').fill('What shipped this week.');
    await page.getByLabel('Rating').fill('4.5');
    await page.getByLabel('Featured').check();
    await page.getByLabel('Published on').fill('2025-03-01');
    await page.getByLabel('Meta').fill('{"tone": ');
    await page.getByText('Not valid JSON yet').waitFor();
    await page.getByLabel('Meta').fill('{"tone": "upbeat"}');
    await page.getByLabel('Hero image').selectOption(assetUid);
    await page.getByLabel('Author').selectOption(personUid);
    await page.getByRole('button', { name: '+ Add Keyword' }).click();
    await page.getByLabel('Keyword 1', { exact: true }).fill('release');
    await page.getByRole('button', { name: '+ Add Keyword' }).click();
    await page.getByLabel('Keyword 2', { exact: true }).fill('notes');
    await page.getByLabel('Description').fill('Release notes for March');
    await page.getByLabel('Hide from search').check();
    await page.getByRole('button', { name: '+ Add Section' }).click();
    await page.getByLabel('Heading').fill('New editor');
    await page.getByText('Saved automatically').waitFor();

    const stored = async () => (await h.request('GET', `/v3/content_types/article/entries/${entryUid}`, { headers })).body.entry;
    // The last keystrokes may still be in their quiet second: wait for the values to land.
    for (let i = 0; i < 50 && (await stored()).sections?.[0]?.heading !== 'New editor'; i++) await new Promise((r) => setTimeout(r, 100));
    const e = await stored();
    assert.equal(e.title, 'Launch notes');
    assert.equal(e.summary, 'What shipped this week.');
    assert.equal(e.rating, 4.5);
    assert.equal(e.featured, true);
    assert.equal(e.published_on, '2025-03-01');
    assert.deepEqual(e.meta, { tone: 'upbeat' });
    assert.equal(e.hero.uid, assetUid, 'the file field shows the asset picked (the management API shows a file field as its asset)');
    assert.deepEqual(e.author, [{ uid: personUid, _content_type_uid: 'person' }]);
    assert.deepEqual(e.keywords, ['release', 'notes']);
    assert.deepEqual(e.seo, { description: 'Release notes for March', noindex: true });
    assert.deepEqual(e.sections, [{ heading: 'New editor' }]);

    // Save makes a regular update; typing made auto-saves.
    await page.getByRole('toolbar', { name: 'Entry actions' }).getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('status').getByText(/^Saved · version/).waitFor();
    const events = (await h.request('GET', '/v3/events?limit=1000', { headers })).body.events.filter((x: { uid: string }) => x.uid === entryUid);
    const actions = events.map((x: { action: string }) => x.action);
    assert.equal(actions[0], 'create');
    assert.ok(actions.includes('auto_save'));
    assert.equal(actions[actions.length - 1], 'update');

    // An error from the API shows next to its field.
    await page.getByLabel('Title *').fill('');
    await page.locator('.field.has-error', { has: page.getByLabel('Title *') }).getByText('is required').waitFor();
    await page.getByRole('status').getByText(/Not saved/).waitFor();
    await page.getByLabel('Title *').fill('Launch notes, March');
    await page.getByText('Saved automatically').waitFor();
    assert.equal(await page.locator('.field.has-error').count(), 0);

    // Publish to two environments, unpublish from one.
    await page.getByRole('button', { name: 'Publish…', exact: true }).click();
    const publish = page.getByRole('dialog', { name: 'Publish entry' });
    await publish.getByLabel('staging').check();
    await publish.getByLabel('production').check();
    // The author is not published: the entry publishes all the same, as in Contentstack.
    await publish.getByRole('button', { name: 'Publish', exact: true }).click();
    await publish.waitFor({ state: 'detached' });
    await page.getByText(/published to (staging|production) \(en-us\) v\d+, (staging|production) \(en-us\)/).waitFor();
    await page.getByRole('button', { name: 'Unpublish…' }).click();
    const unpublish = page.getByRole('dialog', { name: 'Unpublish entry' });
    await unpublish.getByLabel('production').uncheck();
    await unpublish.getByRole('button', { name: 'Unpublish', exact: true }).click();
    await unpublish.waitFor({ state: 'detached' });
    const envs = (await h.request('GET', '/v3/environments', { headers })).body.environments as Array<{ uid: string; name: string }>;
    const published = ((await stored()).publish_details as Array<{ environment: string }>).map((d) => envs.find((x) => x.uid === d.environment || x.name === d.environment)?.name);
    assert.deepEqual(published, ['production']);

    // Archive: refused while published (in words, by the action), then done after unpublishing;
    // publishing is off until unarchived.
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('alert').getByText(/is published \(en-us\); unpublish it before archiving/).waitFor();
    await page.getByRole('button', { name: 'Unpublish…' }).click();
    await unpublish.getByRole('button', { name: 'Unpublish', exact: true }).click();
    await unpublish.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: /Launch notes/ }).getByText('Draft').waitFor();
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('heading', { name: /Launch notes/ }).getByText('Archived').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Publish…', exact: true }).isDisabled(), true);
    assert.equal((await stored())._archived, true);
    await page.getByRole('button', { name: 'Unarchive' }).click();
    await page.getByRole('heading', { name: /Launch notes/ }).getByText('Draft').waitFor();
    assert.equal((await stored())._archived, false);

    // Delete, confirmed.
    await page.getByRole('toolbar', { name: 'Entry actions' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete entry' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No Article entries yet').waitFor();
    assert.equal((await h.request('GET', `/v3/content_types/article/entries/${entryUid}`, { headers })).status, 404);

    assert.deepEqual(
      errors.filter((x) => !/Failed to load resource: the server responded with a status of 422/.test(x)),
      [],
      'no script errors (the 422 of the emptied title is expected)',
    );
  });

  it('fits a phone screen and can be used by keyboard', async () => {
    const { page, errors } = await newPage(browser, { width: 390, height: 844 });
    await signIn(page, h.url, stack);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    assert.equal(await overflow(), 0, 'the webhook list fits');
    await page.getByRole('link', { name: '+ New Webhook' }).click();
    await page.getByRole('heading', { name: 'New Webhook' }).waitFor();
    assert.equal(await overflow(), 0, 'the webhook form fits');
    await page.getByRole('link', { name: 'Content' }).click();
    await page.getByRole('link', { name: /Article/ }).click();
    await page.getByRole('link', { name: '+ New entry' }).click();
    await page.getByLabel('Title *').waitFor();
    assert.equal(await overflow(), 0, 'the entry editor fits');

    // From the top, Tab reaches the skip link first, then the brand; focus is visible.
    await page.goto(h.url + '/#/webhooks');
    await page.reload();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { label: el.getAttribute('aria-label'), outline: getComputedStyle(el).outlineStyle };
    });
    assert.equal(focus.label, 'Herald, home');
    assert.notEqual(focus.outline, 'none');
    assert.deepEqual(errors, []);
  });

  it('signs in with the admin token, creates a stack, and signs out', async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(h.url + '/');
    await page.getByRole('radio', { name: 'Admin token' }).check();
    await page.getByRole('textbox', { name: 'Admin token' }).fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/This token is not valid/).waitFor();
    await page.getByRole('textbox', { name: 'Admin token' }).fill('test-admin-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose a stack' }).waitFor();
    await page.getByRole('button', { name: /Content/ }).waitFor();
    await page.getByLabel('Stack name').fill('Brand new site');
    await page.getByRole('button', { name: 'Create stack' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.locator('.stack-name', { hasText: 'Brand new site' }).waitFor();
    const stacks = await h.request('GET', '/v3/stacks', { headers: { authtoken: 'test-admin-token-0123456789' } });
    assert.ok(stacks.body.stacks.some((s: { name: string }) => s.name === 'Brand new site'));

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Herald' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Herald' }).waitFor();
    assert.deepEqual(
      errors.filter((x) => !/status of 401/.test(x)),
      [],
    );
  });
});

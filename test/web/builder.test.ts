import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { accessibilityProblems, browserAvailability, launch, newPage, screenshot, signIn } from './helpers/browser.ts';

/**
 * The content type builder: fields of several types with their options, a reference, a group with
 * a field of its own, reordering; the content type it saves is what the entry editor is generated
 * from, and an entry made there is stored with those fields.
 */
const availability = browserAvailability();

describe('the content type builder', { skip: 'skip' in availability ? availability.skip : false }, () => {
  let h: TestHerald;
  let browser: Browser;
  let stack: { api_key: string; token: string };
  let headers: Record<string, string>;

  before(async () => {
    if ('fail' in availability) throw new Error(availability.fail);
    h = await startHerald();
    stack = await h.newStack('Builder');
    headers = { api_key: stack.api_key, authorization: stack.token };
    const r = await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text' }] } } });
    assert.equal(r.status, 201);
    assert.equal((await h.request('POST', '/v3/content_types/author/entries', { headers, body: { entry: { title: 'Grace Hopper' } } })).status, 201);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('builds a content type whose fields the entry editor then offers', async () => {
    const { page, errors } = await newPage(browser);
    await signIn(page, h.url, stack);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Content' }).click();
    await page.getByRole('link', { name: '+ New content type' }).click();
    await page.getByRole('heading', { name: 'New content type' }).waitFor();
    await page.getByLabel('Content type name').fill('Recipe');
    assert.equal(await page.getByLabel('Content type uid').inputValue(), 'recipe', 'the uid follows the name');

    const field = (n: number) => page.locator('ol.ct-fields > li.ct-field').nth(n);
    // Field 1 is the title (mandatory, unique), ready made.
    assert.equal(await field(0).getByLabel('Field uid').inputValue(), 'title');

    const add = async (name: string, type: string) => {
      await page.getByRole('button', { name: '+ Add field', exact: true }).click();
      const i = (await page.locator('ol.ct-fields > li.ct-field').count()) - 1;
      const f = field(i);
      assert.equal(await f.getByLabel('Field name').evaluate((el) => el === document.activeElement), true, 'focus on the field just added');
      await f.getByLabel('Field name').fill(name);
      await f.getByLabel('Type').first().selectOption({ label: type });
      return f;
    };
    const servings = await add('Servings', 'Number');
    await servings.getByLabel('Mandatory').check();
    const steps = await add('Steps', 'Text');
    await steps.getByLabel('Multi-line').check();
    await steps.getByLabel('Instructions for editors (optional)').fill('One step per paragraph.');
    const author = await add('Written by', 'Reference (to entries)');
    await author.getByLabel('Author').check();
    const keywords = await add('Keywords', 'Text');
    await keywords.getByLabel('Multiple values').check();
    const nutrition = await add('Nutrition', 'Group (of fields)');
    await nutrition.getByRole('button', { name: '+ Add field to the group' }).click();
    const kcal = nutrition.locator('li.ct-field').first();
    await kcal.getByLabel('Field name').fill('Calories');
    await kcal.getByLabel('Type').selectOption({ label: 'Number' });
    await add('Vegetarian', 'Boolean (yes / no)');

    // Reorder: Steps moves below Written by.
    await page.getByRole('button', { name: 'Move Steps down' }).click();
    assert.equal(await field(3).getByLabel('Field uid').inputValue(), 'steps');
    await screenshot(page, 'content-type-builder.png');
    assert.deepEqual(await accessibilityProblems(page), { unnamed: [], duplicateIds: [] });

    await page.getByRole('button', { name: 'Create content type' }).click();
    await page.getByRole('heading', { name: 'Recipe', level: 1 }).or(page.locator('.form-error')).first().waitFor();
    assert.equal(await page.locator('.form-error').count(), 0, await page.locator('.form-error').allInnerTexts().then((t) => t.join('')));
    const ct = (await h.request('GET', '/v3/content_types/recipe', { headers })).body.content_type;
    assert.deepEqual(
      ct.schema.map((f: { uid: string; data_type: string }) => `${f.uid}:${f.data_type}`),
      ['title:text', 'servings:number', 'written_by:reference', 'steps:text', 'keywords:text', 'nutrition:group', 'vegetarian:boolean'],
    );
    const byUid = Object.fromEntries(ct.schema.map((f: { uid: string }) => [f.uid, f]));
    assert.equal(byUid.title.unique, true);
    assert.equal(byUid.servings.mandatory, true);
    assert.deepEqual(byUid.steps.field_metadata, { multiline: true, instruction: 'One step per paragraph.' });
    assert.deepEqual(byUid.written_by.reference_to, ['author']);
    assert.equal(byUid.keywords.multiple, true);
    assert.deepEqual(byUid.nutrition.schema.map((f: { uid: string; data_type: string }) => `${f.uid}:${f.data_type}`), ['calories:number']);

    // The entry editor is generated from it.
    await page.getByRole('link', { name: '+ New entry' }).first().click();
    await page.getByRole('heading', { name: 'New Recipe entry' }).waitFor();
    await page.getByLabel('Title *').fill('Lentil soup');
    await page.getByLabel('Servings *').fill('4');
    await page.getByLabel('Steps').fill('Rinse the lentils.\nSimmer for 25 minutes.');
    await page.getByText('One step per paragraph.').waitFor();
    await page.getByLabel('Calories').fill('320');
    await page.getByLabel('Vegetarian').check();
    await page.getByRole('button', { name: 'Create entry' }).click();
    await page.getByText('Saved automatically').or(page.getByRole('heading', { name: /Lentil soup/ })).first().waitFor();
    const entries = (await h.request('GET', '/v3/content_types/recipe/entries', { headers })).body.entries;
    assert.equal(entries.length, 1);
    assert.equal(entries[0].title, 'Lentil soup');
    assert.equal(entries[0].servings, 4);
    assert.equal(entries[0].steps, 'Rinse the lentils.\nSimmer for 25 minutes.');
    assert.equal(entries[0].nutrition.calories, 320);
    assert.equal(entries[0].vegetarian, true);

    // Edit fields again: the builder opens with what was saved.
    await page.goto(`${h.url}/#/content/recipe`);
    await page.getByRole('link', { name: 'Edit fields' }).click();
    await page.getByRole('heading', { name: 'Fields of Recipe' }).waitFor();
    assert.equal(await page.locator('ol.ct-fields > li.ct-field').nth(2).getByLabel('Field uid').inputValue(), 'written_by');
    assert.deepEqual(errors, []);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentfulFields, contentfulLocale, environmentIdOf, branchOf } from '../../src/contentful/entities.ts';
import { renderContentful, sysIdOf, versionMismatch } from '../../src/contentful/errors.ts';
import { contentfulTypePath, fromContentfulType, heraldUid } from '../../src/contentful/schema.ts';
import { maxRetriesProblem, retrySchedule, signingSecretProblem } from '../../src/contentful/settings.ts';
import { parseEntryFields } from '../../src/contentful/values.ts';
import { contentfulPath, fromContentful, presentDefinition } from '../../src/contentful/webhooks.ts';
import { HeraldError } from '../../src/errors.ts';
import { webhookDoc } from '../helpers/delivery-fixtures.ts';

describe('Contentful names for Herald things', () => {
  it('maps environments to branches: master is main', () => {
    assert.equal(environmentIdOf('main'), 'master');
    assert.equal(environmentIdOf('staging'), 'staging');
    assert.equal(branchOf('master'), 'main');
    assert.equal(branchOf('staging'), 'staging');
  });

  it('writes locale codes the way Contentful does', () => {
    assert.equal(contentfulLocale('en-us'), 'en-US');
    assert.equal(contentfulLocale('zh-hant-tw'), 'zh-Hant-TW');
    assert.equal(contentfulLocale('es-419'), 'es-419');
    assert.equal(contentfulLocale('fr'), 'fr');
  });

  it('makes Herald uids from Contentful ids, avoiding entry system keys', () => {
    assert.equal(heraldUid('blog'), 'blog');
    assert.equal(heraldUid('blogPost'), 'blog_post');
    assert.equal(heraldUid('hero-image.v2'), 'hero_image_v2');
    assert.equal(heraldUid('2PqfXUJwE8qSYKuM0U6w8M'), 'f_2_pqf_xujw_e8q_syku_m0_u6w8_m');
    assert.equal(heraldUid('tags', new Set(['tags'])), 'f_tags');
  });
});

describe('content type definitions', () => {
  const ctx = { id: 'blogPost', uidOf: (id: string) => (id === 'author' ? 'author' : undefined), allUids: ['author'] };

  it('maps each Contentful field type to a Herald data type and keeps the definition', () => {
    const { body, errors } = fromContentfulType(
      {
        name: 'Blog post',
        displayField: 'title',
        fields: [
          { id: 'title', name: 'Title', type: 'Symbol', required: true, localized: true, validations: [{ unique: true }] },
          { id: 'body', name: 'Body', type: 'RichText' },
          { id: 'views', name: 'Views', type: 'Integer' },
          { id: 'publishDate', name: 'Date', type: 'Date' },
          { id: 'author', name: 'Author', type: 'Link', linkType: 'Entry', validations: [{ linkContentType: ['author'] }] },
          { id: 'images', name: 'Images', type: 'Array', items: { type: 'Link', linkType: 'Asset' } },
          { id: 'keywords', name: 'Keywords', type: 'Array', items: { type: 'Symbol' } },
          { id: 'tags', name: 'Tags', type: 'Symbol' },
          { id: 'old', name: 'Old', type: 'Symbol', deleted: true },
        ],
      },
      ctx,
    );
    assert.deepEqual(Object.keys(errors), []);
    const schema = body.schema as any[];
    assert.deepEqual(
      schema.map((f) => [f.uid, f.data_type, f.multiple, f.mandatory, f.unique, f.non_localizable]),
      [
        ['title', 'text', false, true, true, false],
        ['body', 'json', false, false, false, true],
        ['views', 'number', false, false, false, true],
        ['publish_date', 'isodate', false, false, false, true],
        ['author', 'reference', false, false, false, true],
        ['images', 'file', true, false, false, true],
        ['keywords', 'text', true, false, false, true],
        ['f_tags', 'text', false, false, false, true],
      ],
    );
    assert.deepEqual(schema[4].reference_to, ['author']);
    assert.equal(schema[2].contentful.type, 'Integer');
    assert.equal(body.uid, 'blog_post');
    assert.deepEqual(body.options, { contentful: { id: 'blogPost', displayField: 'title' } });
  });

  it('names every bad field in Contentful terms', () => {
    const { errors } = fromContentfulType(
      { name: '', displayField: 'nope', fields: [{ id: 'a', type: 'Blob' }, { id: 'b', type: 'Link', linkType: 'Entry', validations: [{ linkContentType: ['ghost'] }] }, { id: '1x', type: 'Symbol' }], extra: 1 },
      ctx,
    );
    assert.deepEqual(Object.keys(errors).sort(), ['displayField', 'extra', 'fields.0.type', 'fields.1.validations', 'fields.2.id', 'name']);
    assert.match(errors['fields.1.validations'][0], /"ghost", which does not exist/);
  });

  it('renames Herald content type errors back to Contentful field paths', () => {
    const schema = [{ uid: 'hero_image', display_name: 'H', data_type: 'file', mandatory: false, unique: false, multiple: false, contentful: { id: 'heroImage', type: 'Link' } }] as any;
    assert.equal(contentfulTypePath('content_type.title', schema), 'name');
    assert.equal(contentfulTypePath('content_type.schema.hero_image.reference_to', schema), 'fields.heroImage.reference_to');
  });
});

describe('entry fields', () => {
  const schema = [
    { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: false, unique: false, multiple: false, contentful: { id: 'title', type: 'Symbol', localized: true } },
    { uid: 'views', display_name: 'Views', data_type: 'number', mandatory: false, unique: false, multiple: false, contentful: { id: 'views', type: 'Integer', localized: false } },
    { uid: 'author', display_name: 'Author', data_type: 'reference', mandatory: false, unique: false, multiple: false, reference_to: ['author', 'editor'], contentful: { id: 'author', type: 'Link', linkType: 'Entry' } },
    { uid: 'hero', display_name: 'Hero', data_type: 'file', mandatory: false, unique: false, multiple: false, contentful: { id: 'heroImage', type: 'Link', linkType: 'Asset' } },
  ] as any[];
  const locales = { codes: new Set(['en-us', 'de-de']), master: 'en-us' };

  it('turns fields by locale into Herald values per locale, links into references and asset uids', () => {
    const { byLocale, errors } = parseEntryFields(
      schema,
      {
        title: { 'en-US': 'Hello', 'de-DE': 'Hallo' },
        views: { 'en-US': 3 },
        author: { 'en-US': { sys: { type: 'Link', linkType: 'Entry', id: 'e2' } } },
        heroImage: { 'en-US': { sys: { type: 'Link', linkType: 'Asset', id: 'a1' } } },
      },
      locales,
      (id) => (id === 'e2' ? 'editor' : undefined),
    );
    assert.deepEqual(Object.keys(errors), []);
    assert.deepEqual(byLocale.get('en-us'), { title: 'Hello', views: 3, author: [{ uid: 'e2', _content_type_uid: 'editor' }], hero: 'a1' });
    assert.deepEqual(byLocale.get('de-de'), { title: 'Hallo' });
  });

  it('refuses unknown fields and locales and bad links; leaves out non-localized values outside the master locale', () => {
    const { errors } = parseEntryFields(
      schema,
      { nope: { 'en-US': 1 }, title: { 'fr-FR': 'x' }, views: { 'de-DE': 1, 'en-US': 1.5 }, author: { 'en-US': 'e2' } },
      locales,
      () => undefined,
    );
    assert.deepEqual(Object.keys(errors).sort(), ['fields.author.en-US', 'fields.nope', 'fields.title.fr-FR', 'fields.views.en-US']);
    // As Contentful omits them (contentful-migration's deriveLinkedEntries sends them): not an error, not kept.
    const kept = parseEntryFields(schema, { views: { 'de-DE': 1, 'en-US': 2 } }, locales, () => undefined);
    assert.deepEqual([Object.keys(kept.errors), kept.byLocale.get('en-us'), kept.byLocale.has('de-de')], [[], { views: 2 }, false]);
  });

  it('shows a non-localized field in the master locale only', () => {
    const fields = contentfulFields(
      schema,
      [
        { locale: 'en-us', doc: { title: 'Hello', views: 3 } },
        { locale: 'de-de', doc: { title: 'Hallo', views: 3 } },
      ],
      'en-us',
    );
    assert.deepEqual(fields, { title: { 'en-US': 'Hello', 'de-DE': 'Hallo' }, views: { 'en-US': 3 } });
  });
});

describe('webhook definitions', () => {
  it('maps a Contentful definition onto a Contentstack body', () => {
    const { body, transformation } = fromContentful({
      name: 'Build',
      url: 'https://example.com/hook',
      topics: ['Entry.publish'],
      filters: [{ equals: [{ doc: 'sys.environment.sys.id' }, 'master'] }],
      headers: [{ key: 'X-Token', value: 'abc', secret: true }, { key: 'X-Site', value: 'www' }],
      httpBasicUsername: 'user',
      httpBasicPassword: 'pass',
      active: false,
      transformation: { method: 'PUT', body: { id: '{ /payload/sys/id }' } },
    });
    assert.deepEqual(body.webhook, {
      name: 'Build',
      destinations: [
        {
          target_url: 'https://example.com/hook',
          http_basic_auth: 'user',
          http_basic_password: 'pass',
          custom_header: [
            { header_name: 'X-Token', value: 'abc', secret: true },
            { header_name: 'X-Site', value: 'www' },
          ],
        },
      ],
      channels: ['Entry.publish'],
      conditions: [{ equals: [{ doc: 'sys.environment.sys.id' }, 'master'] }],
      disabled: true,
    });
    assert.deepEqual(transformation, { method: 'PUT', body: { id: '{ /payload/sys/id }' } });
  });

  it('keeps a secret header read back without its value, and a left-out password', () => {
    const { body } = fromContentful({ name: 'x', url: 'https://e.com', topics: ['*.*'], headers: [{ key: 'X-Token', secret: true }], httpBasicUsername: 'user' });
    const d = (body.webhook.destinations as any[])[0];
    assert.deepEqual(d.custom_header, [{ header_name: 'X-Token', value: undefined, secret: true }]);
    assert.equal('http_basic_password' in d, false);
  });

  it('on update, sends the stored endpoint authentication (which Contentful cannot name) as /v3 reads it back: secrets masked', () => {
    const stored = {
      target_url: 'https://e.com/in',
      custom_header: [],
      access_token_url: 'https://auth.e.com/token',
      client_id: 'herald',
      client_secret: 'client-secret-0123456789',
      scope: 'hooks',
      client_certificate: 'CERT',
      client_key: 'private-key-0123456789',
      ca_certificate: 'CA',
    };
    const { body } = fromContentful({ name: 'x', url: 'https://e.com/in', topics: ['*.*'] }, stored);
    const d = (body.webhook.destinations as any[])[0];
    assert.deepEqual(
      { ...d, custom_header: undefined },
      {
        target_url: 'https://e.com/in',
        http_basic_auth: null,
        custom_header: undefined,
        access_token_url: 'https://auth.e.com/token',
        client_id: 'herald',
        client_secret: '****6789',
        scope: 'hooks',
        client_certificate: 'CERT',
        client_key: '****6789',
        ca_certificate: 'CA',
      },
    );
    assert.equal('authentication_type' in d, false, 'implied by the fields, so the body\'s basic auth decides Basic or None');
    // A create (no stored destination) has none.
    assert.deepEqual(Object.keys((fromContentful({ name: 'x', url: 'https://e.com/in', topics: ['*.*'] }).body.webhook.destinations as any[])[0]).sort(), ['custom_header', 'http_basic_auth', 'target_url']);
  });

  it('renames Contentstack field paths to Contentful ones', () => {
    assert.equal(contentfulPath('destinations.0.target_url'), 'url');
    assert.equal(contentfulPath('destinations.0.custom_header.1.header_name'), 'headers.1.key');
    assert.equal(contentfulPath('destinations.0.http_basic_password'), 'httpBasicPassword');
    assert.equal(contentfulPath('channels.2'), 'topics.2');
    assert.equal(contentfulPath('conditions.0.equals.0.doc'), 'filters.0.equals.0.doc');
  });

  it('never shows a secret header value or the basic auth password', () => {
    const w = webhookDoc(
      { format: 'contentful', signing_secrets: [{ secret: 'whsec_x', expires_at: null }], version: 4 },
      { target_url: 'https://e.com', http_basic_auth: 'user', http_basic_password: 'hunter2hunter2', custom_header: [{ header_name: 'X-Token', value: 'supersecretvalue', secret: true }] },
    );
    const shown = JSON.stringify(presentDefinition(w));
    for (const secret of ['hunter2hunter2', 'supersecretvalue', 'whsec_x']) assert.equal(shown.includes(secret), false, secret);
    assert.deepEqual(JSON.parse(shown).headers, [{ key: 'X-Token', secret: true }]);
    assert.equal(JSON.parse(shown).sys.version, 4);
  });
});

describe('space settings', () => {
  it('accepts only 64-character printable signing secrets', () => {
    assert.equal(signingSecretProblem('a'.repeat(64)), null);
    assert.match(signingSecretProblem('a'.repeat(63))!, /exactly 64/);
    assert.match(signingSecretProblem('a'.repeat(63) + ' ')!, /printable/);
    assert.match(signingSecretProblem(5)!, /string/);
  });

  it('turns maxRetries into a schedule from the engine delays, repeating the last', () => {
    assert.deepEqual(retrySchedule([100, 200], 0), []);
    assert.deepEqual(retrySchedule([100, 200], 1), [100]);
    assert.deepEqual(retrySchedule([100, 200], 4), [100, 200, 200, 200]);
    assert.deepEqual(retrySchedule([], 2), [60_000, 60_000]);
    assert.equal(maxRetriesProblem(3), null);
    assert.match(maxRetriesProblem(-1)!, /0 to/);
    assert.match(maxRetriesProblem(1.5)!, /whole/);
  });
});

describe('errors in Contentful shape', () => {
  it('renders sys.id, message and details by field', () => {
    const err = new HeraldError('validation_failed', 'url is required', { errors: { url: ['is required'] } });
    assert.deepEqual(renderContentful(err, { id: 'r1' } as any), {
      sys: { type: 'Error', id: 'ValidationFailed' },
      message: 'url is required',
      details: { errors: [{ name: 'invalid', path: ['url'], details: 'is required' }] },
      requestId: 'r1',
    });
  });

  it('calls stale versions VersionMismatch and other conflicts Conflict', () => {
    assert.equal(sysIdOf(versionMismatch('the entry', 1, 2)), 'VersionMismatch');
    assert.equal(sysIdOf(new HeraldError('conflict', 'changed meanwhile')), 'VersionMismatch');
    assert.equal(sysIdOf(new HeraldError('conflict', 'taken', { errors: { 'sys.id': ['already exists'] } })), 'Conflict');
    assert.equal(sysIdOf(new HeraldError('unauthorized', 'x')), 'AccessTokenInvalid');
    assert.equal(sysIdOf(new HeraldError('not_found', 'x')), 'NotFound');
    assert.equal(sysIdOf(new HeraldError('rate_limited', 'x')), 'RateLimitExceeded');
  });
});

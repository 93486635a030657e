import type { Field } from '../../content/schema.ts';
import { contentTypeId, fieldId } from '../../contentful/entities.ts';
import type { Action, Module } from '../../events/event.ts';
import type { ContentTypeDoc } from '../../content/content-types.ts';
import { CONTENTFUL_CONTENT_TYPE, contentfulPayload } from '../contentful.ts';
import type { CatalogKind, CatalogPayload } from './format.ts';
import { ACTOR, CHANGES, hasChanges, obj, str, valueSchema } from './schema-parts.ts';

/**
 * The Contentful format's entry in the event catalog: the entity as Contentful sends it (fields by
 * locale, references and files as Links, Deleted* for deletes and unpublishes), plus Herald's actor
 * and changes, and the X-Contentful-* headers. Pure.
 */
export function describeContentful(kind: CatalogKind): CatalogPayload[] {
  // Job events have no Contentful type: they go to Contentstack-format webhooks only.
  if (kind.module === 'job') return [];
  return [
    {
      content_type_header: CONTENTFUL_CONTENT_TYPE,
      headers: CONTENTFUL_HEADERS,
      schema: contentfulSchema(kind.module, kind.action as Action, kind.contentType),
      example: contentfulPayload(kind.event, kind.masterLocale),
    },
  ];
}

/** The headers Contentful-format deliveries add to Herald's own (src/delivery/contentful.ts). */
const CONTENTFUL_HEADERS = {
  properties: {
    'x-contentful-topic': { type: 'string', description: 'e.g. ContentManagement.Entry.save' },
    'x-contentful-webhook-name': { type: 'string' },
    'x-contentful-idempotency-key': { type: 'string', description: 'the delivery id' },
  },
  required: ['x-contentful-topic', 'x-contentful-webhook-name', 'x-contentful-idempotency-key'],
};

const link = (linkType: string, id?: string) => obj({ sys: obj({ type: { const: 'Link' }, linkType: { const: linkType }, id: id ? { const: id } : str }, ['type', 'linkType', 'id'], false) }, ['sys'], false);
const localized = (value: Record<string, unknown>) => ({ type: 'object', additionalProperties: value, description: 'values by locale code (en-US)' });
const METADATA = obj({ tags: { type: 'array', items: link('Tag') }, concepts: { type: 'array' } }, ['tags']);

/** A field value as a Contentful-format body shows it: references and files become Links. */
function contentfulValueSchema(f: Field): Record<string, unknown> {
  if (f.data_type === 'reference' || f.data_type === 'file') {
    const l = link(f.data_type === 'reference' ? 'Entry' : 'Asset');
    return { anyOf: [l, { type: 'array', items: l }] };
  }
  return valueSchema(f);
}

function sysSchema(type: string, extra: Record<string, unknown> = {}, required: string[] = []) {
  return obj(
    {
      type: { const: type },
      id: str,
      space: link('Space'),
      environment: link('Environment'),
      createdAt: str,
      updatedAt: str,
      createdBy: link('User'),
      updatedBy: link('User'),
      version: { type: 'integer' },
      ...extra,
    },
    ['type', 'id', 'space', 'environment', ...required],
  );
}

function contentfulEntitySchema(module: Module, action: Action, ct: ContentTypeDoc | null): Record<string, unknown> {
  const gone = action === 'delete' || action === 'unpublish';
  const type = module === 'entry' ? 'Entry' : module === 'asset' ? 'Asset' : 'ContentType';
  const ctLink = ct ? { contentType: link('ContentType', contentTypeId(ct)) } : {};
  if (gone) return { sys: sysSchema(`Deleted${type}`, { ...ctLink, revision: { type: 'integer' }, deletedAt: str }, ['revision', 'deletedAt', ...(ct ? ['contentType'] : [])]) };
  if (module === 'entry') {
    const fields = [...ct!.schema];
    if (!fields.some((f) => f.uid === 'title')) fields.push({ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: false, unique: false, multiple: false });
    return {
      metadata: METADATA,
      sys: sysSchema('Entry', ctLink, ['contentType', 'version']),
      fields: obj(Object.fromEntries(fields.map((f) => [fieldId(f), localized(contentfulValueSchema(f))])), [], false),
    };
  }
  if (module === 'asset') {
    return {
      metadata: METADATA,
      sys: sysSchema('Asset', {}, ['version']),
      fields: obj({ title: localized(str), description: localized(str), file: localized(obj({ url: str, fileName: str, contentType: str, details: obj({ size: { type: 'number' } }) }, ['fileName', 'contentType'])) }, ['title', 'file'], false),
    };
  }
  return { sys: sysSchema('ContentType', {}, ['version']), displayField: { type: ['string', 'null'] }, name: str, description: str, fields: { type: 'array', items: obj({ id: str, type: str }, ['id', 'type']) } };
}

function contentfulSchema(module: Module, action: Action, ct: ContentTypeDoc | null): Record<string, unknown> {
  const entity = contentfulEntitySchema(module, action, ct);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `${module}.${action}${ct ? ` (${ct.uid})` : ''}, Contentful format`,
    ...obj({ ...entity, actor: ACTOR, changes: CHANGES }, [...Object.keys(entity).filter((k) => k !== 'metadata'), 'actor', ...(hasChanges(action) ? ['changes'] : [])], false),
  };
}

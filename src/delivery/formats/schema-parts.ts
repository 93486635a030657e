import { referenceTargets, type Field } from '../../content/schema.ts';
import type { Action } from '../../events/event.ts';

/**
 * JSON Schema (draft-07) building blocks the event catalog and the formats' `describe` share:
 * Herald's actor and `changes` blocks, and a field value's schema in Herald's (Contentstack's)
 * shape. Pure.
 */

export const str = { type: 'string' } as const;
export const obj = (properties: Record<string, unknown>, required: string[] = [], additional = true) => ({ type: 'object', properties, required, additionalProperties: additional });

export const ACTOR = obj(
  { type: { enum: ['admin', 'management_token', 'herald'] }, uid: str, name: { type: ['string', 'null'] } },
  ['type', 'uid', 'name'],
  false,
);
export const CHANGES = obj(
  {
    paths: { type: 'array', items: str },
    fields: { type: 'array', items: obj({ path: str, old: {}, new: {}, truncated: { const: true } }, ['path'], false) },
    truncated: { type: 'boolean' },
  },
  ['paths', 'truncated'],
  false,
);
/** The actions whose events carry `changes`. */
export const hasChanges = (a: Action) => a === 'update' || a === 'auto_save';

/** A Herald field value's schema (Contentstack shapes; references are always lists). */
export function valueSchema(f: Field): Record<string, unknown> {
  const one = oneValue(f);
  if (f.data_type === 'reference' || f.multiple) return { type: 'array', items: one };
  return one;
}

function oneValue(f: Field): Record<string, unknown> {
  switch (f.data_type) {
    case 'text':
      return str;
    case 'number':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'isodate':
      return { type: 'string', description: 'ISO 8601 date or date and time' };
    case 'json':
      return {};
    case 'file':
      return { type: 'string', description: 'an asset uid' };
    case 'reference':
      return obj({ uid: str, _content_type_uid: referenceTargets(f).length ? { enum: referenceTargets(f) } : str }, ['uid', '_content_type_uid'], false);
    case 'group':
    case 'global_field':
      return obj(Object.fromEntries((f.schema ?? []).map((g) => [g.uid, nullable(valueSchema(g))])));
  }
}

/** Empty values are stored as given by some paths (null): a field is typed, or null. */
export const nullable = (s: Record<string, unknown>) => (Object.keys(s).length === 0 ? s : { anyOf: [s, { type: 'null' }] });

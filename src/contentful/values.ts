import { isObject } from '../content/guards.ts';
import { referenceTargets, type Field } from '../content/schema.ts';
import { fieldErrors, type FieldErrors } from '../errors.ts';
import { fieldId, fieldMeta, isLocalized } from './entities.ts';

/**
 * Contentful entry `fields` (`{ [fieldId]: { [locale]: value } }`) -> Herald field values per
 * locale (pure). Links to entries become Contentstack references `{ uid, _content_type_uid }`,
 * Links to assets become asset uids; everything else is stored as given and checked by Herald's
 * own entry validation afterwards. Locales are accepted in either spelling (`en-US`, `en-us`).
 *
 * A field that is not localized takes its value from the master locale only; a value given for
 * it in another locale is left out, as Contentful leaves it out of every answer (its "actively omit
 * non default locales values of unlocalized fields"). Contentful's own tools send such values:
 * contentful-migration's deriveLinkedEntries writes the new link in every locale of the space,
 * whatever the field's `localized`; refused, the migration stopped half done.
 */

/**
 * The tags of an entry or asset body's `metadata.tags` (Links to tags: Herald keeps their ids), or
 * undefined when it names none. `metadata` holds `tags` and `concepts` (Contentful's taxonomy):
 * Herald keeps no concepts, so a non-empty `metadata.concepts` is refused rather than dropped (an
 * empty one, as Herald shows and contentful-export writes, is fine); any other key is unknown.
 */
export function metadataTags(raw: Record<string, unknown>, errors: FieldErrors): string[] | undefined {
  const metadata = raw.metadata;
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) {
    errors.metadata = ['must be an object: { "tags": [...] }'];
    return undefined;
  }
  for (const k of Object.keys(metadata)) if (k !== 'tags' && k !== 'concepts') (errors[`metadata.${k}`] ??= []).push('is not a known field');
  const concepts = metadata.concepts;
  if (concepts !== undefined && !(Array.isArray(concepts) && concepts.length === 0)) {
    errors['metadata.concepts'] = ['is not kept: Herald has no taxonomy concepts; send an empty list or leave it out'];
  }
  const tags = metadata.tags;
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags)) {
    errors['metadata.tags'] = ['must be a list of Links to tags'];
    return undefined;
  }
  const out: string[] = [];
  tags.forEach((t, i) => {
    const id = isObject(t) && isObject(t.sys) ? t.sys.id : undefined;
    if (typeof id !== 'string') (errors[`metadata.tags.${i}`] ??= []).push('must be a Link to a tag: { "sys": { "type": "Link", "linkType": "Tag", "id": "..." } }');
    else out.push(id);
  });
  return out;
}

/** A content type's fields as entries see them: the schema plus Contentstack's implicit `title` when it has none. */
export function entryFields(schema: Field[]): Field[] {
  if (schema.some((f) => f.uid === 'title')) return schema;
  return [...schema, { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: false, unique: false, multiple: false }];
}

/** Ids of every entry an entry body links to (to look up their content types first). */
export function linkedEntryIds(rawFields: unknown): string[] {
  const ids = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      const sys = v.sys as Record<string, unknown> | undefined;
      if (isObject(sys) && sys.type === 'Link' && sys.linkType === 'Entry' && typeof sys.id === 'string') ids.add(sys.id);
      else Object.values(v).forEach(walk);
    }
  };
  walk(rawFields);
  return [...ids];
}

export interface Locales {
  /** Herald codes of the stack's locales (lowercase). */
  codes: ReadonlySet<string>;
  master: string;
}

export interface ParsedFields {
  /** Herald values given per Herald locale code; a field given as null is there as null. */
  byLocale: Map<string, Record<string, unknown>>;
  errors: FieldErrors;
}

/**
 * Parses an entry body's `fields`. `entryType(id)` gives the content type uid of an existing
 * entry (for references to entries of several possible types).
 */
export function parseEntryFields(schema: Field[], rawFields: unknown, locales: Locales, entryType: (id: string) => string | undefined): ParsedFields {
  const errors: FieldErrors = fieldErrors();
  const add = (p: string, m: string) => (errors[p] ??= []).push(m);
  const byLocale = new Map<string, Record<string, unknown>>();
  if (rawFields === undefined || rawFields === null) return { byLocale, errors };
  if (!isObject(rawFields)) {
    add('fields', 'must be an object: { "<field id>": { "<locale>": value } }');
    return { byLocale, errors };
  }
  const fields = entryFields(schema);
  for (const [id, perLocale] of Object.entries(rawFields)) {
    const f = fields.find((x) => fieldId(x) === id);
    if (!f) {
      add(`fields.${id}`, 'is not a field of this content type');
      continue;
    }
    if (!isObject(perLocale)) {
      add(`fields.${id}`, 'must be an object of values by locale: { "en-US": ... }');
      continue;
    }
    for (const [given, value] of Object.entries(perLocale)) {
      const at = `fields.${id}.${given}`;
      const code = given.toLowerCase();
      if (!locales.codes.has(code)) {
        add(at, `names locale ${JSON.stringify(given)}, which is not a locale of this space`);
        continue;
      }
      // Not localized: only the master locale's value counts (see the top of this file).
      if (!isLocalized(f) && code !== locales.master) continue;
      const v = heraldValue(f, value, at, entryType, add);
      if (v === INVALID) continue;
      if (!byLocale.has(code)) byLocale.set(code, {});
      byLocale.get(code)![f.uid] = v;
    }
  }
  return { byLocale, errors };
}

const INVALID = Symbol('invalid');

function linkId(v: unknown, linkType: string): string | undefined {
  const sys = isObject(v) ? (v.sys as Record<string, unknown>) : undefined;
  if (!isObject(sys) || sys.type !== 'Link' || sys.linkType !== linkType || typeof sys.id !== 'string') return undefined;
  return sys.id;
}

function heraldValue(f: Field, value: unknown, at: string, entryType: (id: string) => string | undefined, add: (p: string, m: string) => void): unknown {
  if (value === null) return null;
  if (f.data_type === 'reference') {
    const list = Array.isArray(value) ? value : [value];
    const out = [];
    for (const item of list) {
      const id = linkId(item, 'Entry');
      if (!id) {
        add(at, 'must be a Link to an entry: { "sys": { "type": "Link", "linkType": "Entry", "id": "..." } }');
        return INVALID;
      }
      out.push({ uid: id, _content_type_uid: entryType(id) ?? referenceTargets(f)[0] ?? '' });
    }
    return out;
  }
  if (f.data_type === 'file') {
    const list = Array.isArray(value) ? value : [value];
    const ids: string[] = [];
    for (const item of list) {
      const id = linkId(item, 'Asset');
      if (!id) {
        add(at, 'must be a Link to an asset: { "sys": { "type": "Link", "linkType": "Asset", "id": "..." } }');
        return INVALID;
      }
      ids.push(id);
    }
    return f.multiple ? ids : ids[0];
  }
  if (fieldMeta(f)?.type === 'Integer' && (typeof value !== 'number' || !Number.isInteger(value))) {
    add(at, 'must be a whole number (the field is an Integer)');
    return INVALID;
  }
  return value;
}

/** Comparable form of a line's values for the given fields (to skip lines a save does not change). */
export function sameValues(fields: Field[], a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const pick = (o: Record<string, unknown>) => JSON.stringify(fields.map((f) => (Object.hasOwn(o, f.uid) ? (o[f.uid] ?? null) : null)));
  return pick(a) === pick(b);
}

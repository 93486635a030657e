import { isObject, isUid } from '../content/guards.ts';
import { ENTRY_SYSTEM_KEYS, type Field } from '../content/schema.ts';
import { fieldErrors, type FieldErrors } from '../errors.ts';
import { fieldId, typeMeta, type ContentfulFieldMeta, type StoredContentType } from './entities.ts';

/**
 * Contentful content type definitions -> Herald content types (pure). A Contentful field keeps
 * its definition on the Herald field (`contentful`), so it reads back as it was given; the Herald
 * side gets the nearest data type:
 *
 *   Symbol, Text -> text          Integer, Number -> number     Date -> isodate
 *   Boolean -> boolean            Object, RichText, Location -> json
 *   Link Entry -> reference       Link Asset -> file            Array of those -> multiple
 *   required -> mandatory         validations [{ unique: true }] -> unique
 *   localized: false -> non_localizable (one value for every locale)
 *
 * Ids: Herald uids are lowercase snake case; a Contentful id that is not one (`blogPost`,
 * `hero-image`) gets one made from it (`blog_post`, `hero_image`) and keeps its own id on the
 * Herald record, so both sides read their own. Two ids that make the same uid collide (422/409).
 * A field named like an entry system key (`tags`, `locale`...) gets the uid `f_<name>`.
 */

/** Contentful field types Herald stores, and their Herald data type. */
const TYPES: Record<string, Field['data_type']> = {
  Symbol: 'text',
  Text: 'text',
  Integer: 'number',
  Number: 'number',
  Date: 'isodate',
  Boolean: 'boolean',
  Object: 'json',
  RichText: 'json',
  Location: 'json',
};

/** A Herald uid made from a Contentful id; `reserved` names get an `f_` prefix. */
export function heraldUid(contentfulId: string, reserved: ReadonlySet<string> = new Set()): string {
  let uid = contentfulId;
  if (!isUid(uid)) {
    uid = contentfulId
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9_]+/g, '_')
      .toLowerCase()
      .replace(/_+/g, '_')
      .replace(/^_+|_+$/g, '');
    if (!/^[a-z]/.test(uid)) uid = `f_${uid}`;
  }
  if (reserved.has(uid)) uid = `f_${uid}`;
  return uid.slice(0, 64);
}

/** A Contentful content type id (as any Contentful id: letters, digits, `.`, `-`, `_`, at most 64). */
const CONTENT_TYPE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface TypeContext {
  /** The Contentful id of the content type being defined. */
  id: string;
  /** Herald uid of a content type by its Contentful id, when it exists in the environment. */
  uidOf: (contentfulId: string) => string | undefined;
  /** Every content type uid in the environment (a Link without linkContentType may point at any). */
  allUids: string[];
  /**
   * Collects the uids of content types a `linkContentType` names that do not exist yet (the uid
   * each will have); without it, naming one is an error. Contentful accepts them: its importer
   * makes content types that link to each other concurrently.
   */
  pending?: Set<string>;
}

/** A Contentstack `content_type` body (for src/content/content-types.ts) from a Contentful one, or the problems. */
export function fromContentfulType(raw: unknown, ctx: TypeContext): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = fieldErrors();
  const add = (path: string, p: string) => (errors[path] ??= []).push(p);
  if (!isObject(raw)) {
    add('body', 'must be a content type: { name, fields: [...] }');
    return { body: {}, errors };
  }
  for (const k of Object.keys(raw)) if (!['name', 'description', 'displayField', 'fields', 'sys', 'metadata'].includes(k)) add(k, 'is not a known field');
  // Contentful's content type metadata (annotations, taxonomy): Herald keeps none, so one that says
  // something is refused rather than dropped; an empty one (as tools may send) is nothing to keep.
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (!isObject(raw.metadata)) add('metadata', 'must be an object');
    else for (const [k, v] of Object.entries(raw.metadata)) if (saysSomething(v)) add(`metadata.${k}`, 'is not kept by Herald (no annotations or taxonomy on content types): leave it out or empty');
  }
  if (typeof raw.name !== 'string' || raw.name.trim() === '') add('name', 'is required');
  if (raw.description !== undefined && raw.description !== null && typeof raw.description !== 'string') add('description', 'must be a string');
  const selfUid = heraldUid(ctx.id);
  const schema: Field[] = [];
  const rawFields = raw.fields ?? [];
  if (!Array.isArray(rawFields)) add('fields', 'must be a list of fields');
  else {
    rawFields.forEach((f, i) => {
      if (isObject(f) && f.deleted === true) return; // Contentful's way of removing a field.
      const field = fromContentfulField(f, `fields.${i}`, ctx, selfUid, add);
      if (field) schema.push(field);
    });
  }
  let displayField: string | null = null;
  if (raw.displayField !== undefined && raw.displayField !== null) {
    if (typeof raw.displayField !== 'string' || !Array.isArray(rawFields) || !rawFields.some((f) => isObject(f) && f.id === raw.displayField)) {
      add('displayField', 'must be the id of one of the fields');
    } else displayField = raw.displayField;
  }
  return {
    body: {
      uid: selfUid,
      title: typeof raw.name === 'string' ? raw.name.trim() : raw.name,
      description: typeof raw.description === 'string' ? raw.description : '',
      schema,
      options: { contentful: { id: ctx.id, displayField } },
    },
    errors,
  };
}

function linkTargets(validations: unknown, path: string, ctx: TypeContext, selfUid: string, add: (p: string, m: string) => void): string[] {
  const list = Array.isArray(validations) ? validations : [];
  const v = list.find((x) => isObject(x) && Array.isArray(x.linkContentType)) as { linkContentType: unknown[] } | undefined;
  if (!v) return [...new Set([...ctx.allUids, selfUid])];
  const out: string[] = [];
  for (const id of v.linkContentType) {
    const uid = typeof id !== 'string' ? undefined : id === ctx.id ? selfUid : ctx.uidOf(id);
    if (uid) out.push(uid);
    else if (typeof id === 'string' && CONTENT_TYPE_ID.test(id) && ctx.pending) {
      ctx.pending.add(heraldUid(id));
      out.push(heraldUid(id));
    } else add(`${path}.validations`, `names content type ${JSON.stringify(id)}, which does not exist in this environment`);
  }
  return out;
}

/** Whether a JSON value holds anything: a scalar, or a list or object with one somewhere inside. */
function saysSomething(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.some(saysSomething);
  if (isObject(v)) return Object.values(v).some(saysSomething);
  return true;
}

/** The properties of a Contentful field definition Herald keeps (or, `deleted`, acts on); any other is refused, not dropped. */
const FIELD_KEYS = new Set(['id', 'name', 'type', 'linkType', 'items', 'required', 'localized', 'disabled', 'omitted', 'deleted', 'validations', 'defaultValue']);

function fromContentfulField(f: unknown, path: string, ctx: TypeContext, selfUid: string, add: (p: string, m: string) => void): Field | undefined {
  if (!isObject(f)) {
    add(path, 'must be a field: { id, name, type }');
    return undefined;
  }
  for (const k of Object.keys(f)) if (!FIELD_KEYS.has(k)) add(`${path}.${k}`, 'is not a known property of a field');
  if (typeof f.id !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(f.id)) {
    add(`${path}.id`, 'must be letters, digits and underscores, starting with a letter (at most 64)');
    return undefined;
  }
  const type = f.type;
  const items = isObject(f.items) ? f.items : undefined;
  const meta: ContentfulFieldMeta = { id: f.id, type: String(type) };
  let dataType: Field['data_type'];
  let multiple = false;
  let referenceTo: string[] | undefined;
  const linkOf = (linkType: unknown, validations: unknown, at: string): Field['data_type'] | undefined => {
    if (linkType === 'Asset') return 'file';
    if (linkType === 'Entry') {
      referenceTo = linkTargets(validations, at, ctx, selfUid, add);
      return 'reference';
    }
    add(`${at}.linkType`, 'must be Entry or Asset');
    return undefined;
  };
  if (type === 'Link') {
    meta.linkType = String(f.linkType);
    const dt = linkOf(f.linkType, f.validations, path);
    if (!dt) return undefined;
    dataType = dt;
  } else if (type === 'Array') {
    if (!items) {
      add(`${path}.items`, 'is required for an Array field: { type: "Symbol" } or { type: "Link", linkType: "Entry" }');
      return undefined;
    }
    meta.items = items;
    multiple = true;
    if (items.type === 'Symbol') dataType = 'text';
    else if (items.type === 'Link') {
      const dt = linkOf(items.linkType, items.validations, `${path}.items`);
      if (!dt) return undefined;
      dataType = dt;
    } else {
      add(`${path}.items.type`, 'must be Symbol or Link');
      return undefined;
    }
  } else if (typeof type === 'string' && Object.hasOwn(TYPES, type)) {
    dataType = TYPES[type];
  } else {
    add(`${path}.type`, `must be one of ${[...Object.keys(TYPES), 'Link', 'Array'].join(', ')}`);
    return undefined;
  }
  if (f.validations !== undefined && !Array.isArray(f.validations)) add(`${path}.validations`, 'must be a list');
  if (Array.isArray(f.validations)) meta.validations = f.validations;
  for (const k of ['localized', 'disabled', 'omitted', 'required'] as const) {
    if (f[k] !== undefined && typeof f[k] !== 'boolean') add(`${path}.${k}`, 'must be true or false');
  }
  meta.localized = f.localized === true;
  if (f.disabled === true) meta.disabled = true;
  if (f.omitted === true) meta.omitted = true;
  if (f.defaultValue !== undefined) meta.defaultValue = f.defaultValue;
  const unique = Array.isArray(f.validations) && f.validations.some((v) => isObject(v) && v.unique === true) && ['text', 'number', 'isodate'].includes(dataType) && !multiple;
  const field: Field = {
    uid: heraldUid(f.id, ENTRY_SYSTEM_KEYS),
    display_name: typeof f.name === 'string' && f.name.trim() !== '' ? f.name : f.id,
    data_type: dataType,
    mandatory: f.required === true,
    unique,
    multiple,
    non_localizable: !meta.localized,
    contentful: meta,
  };
  if (referenceTo) field.reference_to = referenceTo;
  return field;
}

/**
 * Renames the field paths of a Contentstack content type error (`content_type.title`,
 * `content_type.schema.hero_image.reference_to`) to Contentful's (`name`, `fields.heroImage...`).
 */
export function contentfulTypePath(path: string, schema: Field[]): string {
  if (path === 'content_type.title') return 'name';
  if (path === 'content_type.uid') return 'sys.id';
  const m = /^content_type\.schema(?:\.([a-z][a-z0-9_]*)|\[(\d+)\])?(.*)$/.exec(path);
  if (m) {
    const f = m[1] ? schema.find((x) => x.uid === m[1]) : m[2] !== undefined ? schema[Number(m[2])] : undefined;
    return f ? `fields.${fieldId(f)}${m[3].replace(/^\.display_name/, '.name')}` : `fields${m[3]}`;
  }
  return path.replace(/^content_type\.?/, '') || 'body';
}

/** The Contentful id of each content type, by Herald uid (for Links between them). */
export function contentfulIds(types: StoredContentType[]): (uid: string) => string {
  const ids = new Map(types.map((t) => [t.uid, typeMeta(t).id ?? t.uid]));
  return (uid) => ids.get(uid) ?? uid;
}

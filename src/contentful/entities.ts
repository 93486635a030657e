/**
 * Herald's content as Contentful shows it: content types, entries and assets with `sys` and
 * `fields` keyed by field id then locale. Pure: the API routes (several locale lines of an
 * entry, read from the store) and the Contentful-format webhook body (one event's snapshot) both
 * build their entities here, so both speak the same shapes.
 *
 * Mapping rules (the README's "Contentful dialect" section says the same for users):
 * - a space is a stack (`sys.space.sys.id` = api_key); Contentful's environment `master` is the
 *   branch `main`, any other environment id is the branch of that uid;
 * - locale codes: Herald keeps them lowercase (`en-us`), Contentful writes regions in capitals
 *   (`en-US`); both are accepted on input;
 * - a field's Contentful id and type are kept on the Herald field (`contentful` key) when it was
 *   defined through the dialect; fields defined through /v3 get them derived from their data type;
 * - references are Links (`{ sys: { type: 'Link', linkType: 'Entry', id } }`), file fields are
 *   Links to assets; users (management tokens, `admin`) are Links of type User.
 */
import { isGroupLike, referenceTargets, type Field } from '../content/schema.ts';

/**
 * `sys.fieldStatus` of an entry or asset on Contentful's management API: its publishing status in
 * each locale of the space, `{ '*': { 'en-US': 'published', 'de-DE': 'draft' } }` (contentful-management's
 * EntityMetaSysProps; Contentful's delivery API decides what X-Contentful-Locale-Based-Publishing shows
 * from it, and contentful-migration's `useLocaleBasedPublishing` reads it to republish only the locales
 * that were published). Per locale:
 * - `draft`: not published in the environment in that locale (never, or unpublished since);
 * - `published`: published, and the locale's content has not changed since;
 * - `changed`: published, and the locale's content was saved again since.
 * The `*` key is Contentful's: the status of every field in that locale (Contentful has no per-field one).
 * Worked out in field-status.ts; defined here, since that file imports this one.
 */
export type LocaleStatus = 'draft' | 'changed' | 'published';

export const MASTER_ENVIRONMENT = 'master';

export interface Link {
  sys: { type: 'Link'; linkType: string; id: string };
}

export const link = (linkType: string, id: string): Link => ({ sys: { type: 'Link', linkType, id } });

/** Contentful's environment id of a branch: `master` for `main`. */
export function environmentIdOf(branch: string): string {
  return branch === 'main' ? MASTER_ENVIRONMENT : branch;
}

/** The branch of a Contentful environment id: `main` for `master`. */
export function branchOf(environmentId: string): string {
  return environmentId === MASTER_ENVIRONMENT ? 'main' : environmentId;
}

/**
 * A Herald locale code as Contentful writes it: language lowercase, a 2-letter or 3-digit region
 * in capitals, a 4-letter script capitalised (`en-us` -> `en-US`, `zh-hant-tw` -> `zh-Hant-TW`).
 */
export function contentfulLocale(code: string): string {
  let spelled = spellings.get(code);
  if (spelled === undefined) {
    spelled = spell(code);
    // A handful of codes per space; the bound only keeps odd input from growing it.
    if (spellings.size >= 1000) spellings.clear();
    spellings.set(code, spelled);
  }
  return spelled;
}

/** contentfulLocale's answers: it runs for every field of every entry the delivery API shapes. */
const spellings = new Map<string, string>();

function spell(code: string): string {
  return code
    .split('-')
    .map((part, i) => {
      if (i === 0) return part.toLowerCase();
      if (/^[a-z]{2}$|^\d{3}$/i.test(part)) return part.toUpperCase();
      if (/^[a-z]{4}$/i.test(part)) return part[0].toUpperCase() + part.slice(1).toLowerCase();
      return part;
    })
    .join('-');
}

/** What the dialect keeps on a Herald field so a Contentful definition reads back as it was given. */
export interface ContentfulFieldMeta {
  id: string;
  type: string;
  linkType?: string;
  items?: Record<string, unknown>;
  validations?: unknown[];
  localized?: boolean;
  disabled?: boolean;
  omitted?: boolean;
  defaultValue?: unknown;
}

/** A content type as stored by Herald (src/content/content-types.ts), as far as this module reads it. */
export interface StoredContentType {
  uid: string;
  title: string;
  description?: string;
  schema: Field[];
  options?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  _version: number;
}

/** The dialect's own keys on a content type (under `options.contentful`). */
export interface ContentfulTypeMeta {
  id?: string;
  displayField?: string | null;
}

export function typeMeta(ct: Pick<StoredContentType, 'options'>): ContentfulTypeMeta {
  const m = ct.options?.contentful;
  return m && typeof m === 'object' && !Array.isArray(m) ? (m as ContentfulTypeMeta) : {};
}

/** A content type's Contentful id: the one it was created with through the dialect, else its uid. */
export function contentTypeId(ct: Pick<StoredContentType, 'uid' | 'options'>): string {
  return typeMeta(ct).id ?? ct.uid;
}

export function fieldMeta(f: Field): ContentfulFieldMeta | undefined {
  const m = f.contentful;
  return m && typeof m === 'object' && !Array.isArray(m) && typeof (m as ContentfulFieldMeta).id === 'string' ? (m as ContentfulFieldMeta) : undefined;
}

/** A field's Contentful id. */
export function fieldId(f: Field): string {
  return fieldMeta(f)?.id ?? f.uid;
}

/** Whether a field has one value per locale (Contentful `localized`; Contentstack's `non_localizable` is the opposite). */
export function isLocalized(f: Field): boolean {
  const m = fieldMeta(f);
  if (m?.localized !== undefined) return m.localized;
  return f.non_localizable !== true;
}

/**
 * A field's Contentful definition: as it was given through the dialect, else derived from its
 * Herald data type. `ctId` maps referenced content type uids to their Contentful ids.
 */
export function contentfulFieldDef(f: Field, ctId: (uid: string) => string = (u) => u): Record<string, unknown> {
  const m = fieldMeta(f);
  const base = { id: fieldId(f), name: f.display_name, localized: isLocalized(f), required: f.mandatory === true };
  if (m) {
    const out: Record<string, unknown> = { ...base, type: m.type, validations: m.validations ?? [], disabled: m.disabled ?? false, omitted: m.omitted ?? false };
    if (m.linkType) out.linkType = m.linkType;
    if (m.items) out.items = m.items;
    if (m.defaultValue !== undefined) out.defaultValue = m.defaultValue;
    return out;
  }
  const validations: unknown[] = f.unique ? [{ unique: true }] : [];
  let one: Record<string, unknown>;
  switch (f.data_type) {
    case 'text':
      one = { type: (f.field_metadata as { multiline?: boolean } | undefined)?.multiline ? 'Text' : 'Symbol' };
      break;
    case 'number':
      one = { type: 'Number' };
      break;
    case 'boolean':
      one = { type: 'Boolean' };
      break;
    case 'isodate':
      one = { type: 'Date' };
      break;
    case 'file':
      one = { type: 'Link', linkType: 'Asset' };
      break;
    case 'reference':
      one = { type: 'Link', linkType: 'Entry', validations: [{ linkContentType: referenceTargets(f).map(ctId) }] };
      break;
    default:
      // json, group and global field values are objects to Contentful.
      one = { type: 'Object' };
  }
  if (f.multiple && f.data_type !== 'json' && !isGroupLike(f)) {
    const items = { ...one, validations: (one.validations as unknown[]) ?? [] };
    return { ...base, type: 'Array', items, validations, disabled: false, omitted: false };
  }
  return { ...base, ...one, validations: [...((one.validations as unknown[]) ?? []), ...validations], disabled: false, omitted: false };
}

/** Whether a field holds a list of values to Contentful (type Array). */
function isArrayField(f: Field): boolean {
  const m = fieldMeta(f);
  if (m) return m.type === 'Array';
  return f.multiple === true && f.data_type !== 'json' && !isGroupLike(f);
}

/** One stored Herald value as Contentful shows it. */
export function contentfulValue(f: Field, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (f.data_type === 'reference') {
    const list = (Array.isArray(value) ? value : [value]).map((r) => link('Entry', String((r as { uid?: unknown })?.uid ?? r)));
    return isArrayField(f) ? list : (list[0] ?? null);
  }
  if (f.data_type === 'file') {
    const list = (Array.isArray(value) ? value : [value]).map((u) => link('Asset', String(u)));
    return isArrayField(f) ? list : (list[0] ?? null);
  }
  return value;
}

/** A line of an entry: its locale and stored document (fields are its own keys). */
export interface EntryLine {
  locale: string;
  doc: Record<string, unknown>;
}

/**
 * Contentful `fields` from an entry's lines: `{ [fieldId]: { [locale]: value } }`. A field that
 * is not localized shows its value in the master locale only (when `masterLocale` is given and
 * that line is among `lines`). Empty values are left out, as Contentful leaves them out.
 * `delivery`: as the delivery and preview APIs show them, which leave out a field marked `omitted`
 * (Contentful: "no longer delivered via the Content Delivery or Content Preview APIs, and only
 * present on the Content Management API"); a `disabled` one (hidden in the editor) is still served.
 */
export function contentfulFields(schema: Field[], lines: EntryLine[], masterLocale?: string, delivery = false): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const hasMaster = masterLocale !== undefined && lines.some((l) => l.locale === masterLocale);
  const fields = [...schema];
  // Contentstack's implicit `title` (an entry may carry one without a schema field).
  if (!schema.some((f) => f.uid === 'title')) fields.push({ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: false, unique: false, multiple: false });
  for (const f of fields) {
    if (delivery && fieldMeta(f)?.omitted === true) continue;
    const byLocale: Record<string, unknown> = {};
    for (const line of lines) {
      if (hasMaster && !isLocalized(f) && line.locale !== masterLocale) continue;
      const v = Object.hasOwn(line.doc, f.uid) ? line.doc[f.uid] : undefined;
      if (v === undefined || v === null) continue;
      byLocale[contentfulLocale(line.locale)] = contentfulValue(f, v);
    }
    if (Object.keys(byLocale).length) out[fieldId(f)] = byLocale;
  }
  return out;
}

/** Where an entity lives and who acted, for its `sys`. */
export interface SysContext {
  spaceId: string;
  environmentId: string;
}

export interface Publication {
  version: number;
  counter: number;
  by: string;
  firstAt: string;
  at: string;
}

/** The state of an entity behind its `sys` (times ISO 8601). */
export interface EntityState {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
  published?: Publication | null;
  archived?: { version: number; at: string; by: string } | null;
  /** The management API's per-locale publishing status (src/contentful/field-status.ts); delivery shapes have none. */
  fieldStatus?: { '*': Record<string, LocaleStatus> };
}

function sys(type: string, ctx: SysContext, s: EntityState, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    space: link('Space', ctx.spaceId),
    id: s.id,
    type,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    environment: link('Environment', ctx.environmentId),
    createdBy: link('User', s.createdBy),
    updatedBy: link('User', s.updatedBy),
    version: s.version,
    ...extra,
  };
  if (s.published) {
    Object.assign(out, {
      publishedVersion: s.published.version,
      publishedAt: s.published.at,
      firstPublishedAt: s.published.firstAt,
      publishedCounter: s.published.counter,
      publishedBy: link('User', s.published.by),
    });
  }
  if (s.archived) Object.assign(out, { archivedVersion: s.archived.version, archivedAt: s.archived.at, archivedBy: link('User', s.archived.by) });
  if (s.fieldStatus) out.fieldStatus = s.fieldStatus;
  return out;
}

/**
 * A content type's Contentful definition (what a user saves: name, description, displayField,
 * fields). `ctId` maps referenced content type uids to Contentful ids.
 */
export function contentfulDefinition(ct: Pick<StoredContentType, 'title' | 'description' | 'schema' | 'options'>, ctId?: (uid: string) => string) {
  const meta = typeMeta(ct);
  const fields = ct.schema.map((f) => contentfulFieldDef(f, ctId));
  const displayField = meta.displayField !== undefined ? meta.displayField : ct.schema.some((f) => f.uid === 'title') ? 'title' : null;
  return { displayField, name: ct.title, description: ct.description ?? '', fields };
}

/** A content type (`type: ContentType`). `ctId` maps referenced content type uids to Contentful ids. */
export function contentTypeEntity(ct: StoredContentType, ctx: SysContext, s: EntityState, ctId?: (uid: string) => string) {
  return { sys: sys('ContentType', ctx, s), ...contentfulDefinition(ct, ctId) };
}

export function entryEntity(ct: Pick<StoredContentType, 'uid' | 'options' | 'schema'>, lines: EntryLine[], tags: string[], ctx: SysContext, s: EntityState, masterLocale?: string) {
  return {
    metadata: { tags: tags.map((t) => link('Tag', t)), concepts: [] },
    sys: sys('Entry', ctx, s, { automationTags: [], contentType: link('ContentType', contentTypeId(ct)) }),
    fields: contentfulFields(ct.schema, lines, masterLocale),
  };
}

/** An asset as Herald stores it (src/content/assets.ts), as far as this module reads it. */
export interface StoredAsset {
  uid: string;
  title: string;
  description?: string;
  filename: string;
  content_type: string;
  file_size: string | number;
  url?: string;
  tags?: string[];
}

/** Herald assets are not localized: their one title, description and file show in `locale`. */
export function assetEntity(a: StoredAsset, locale: string, ctx: SysContext, s: EntityState) {
  const l = contentfulLocale(locale);
  const fields: Record<string, Record<string, unknown>> = {
    title: { [l]: a.title },
    file: { [l]: { url: a.url, fileName: a.filename, contentType: a.content_type, details: { size: Number(a.file_size) } } },
  };
  if (a.description) fields.description = { [l]: a.description };
  return { metadata: { tags: (a.tags ?? []).map((t) => link('Tag', t)), concepts: [] }, sys: sys('Asset', ctx, s), fields };
}

/** What Contentful sends for an unpublished or deleted entity: `sys` only, type `Deleted<Type>`. */
export function deletedEntity(type: 'Entry' | 'Asset' | 'ContentType', ctx: SysContext, s: Pick<EntityState, 'id' | 'version' | 'createdAt' | 'updatedAt'>, deletedAt: string, extra: Record<string, unknown> = {}) {
  return {
    sys: {
      type: `Deleted${type}`,
      id: s.id,
      space: link('Space', ctx.spaceId),
      environment: link('Environment', ctx.environmentId),
      ...extra,
      revision: s.version,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      deletedAt,
    },
  };
}

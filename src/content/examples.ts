import type { JobAction } from '../events/event.ts';
import { jobData, type JobData, type JobKind } from '../events/job.ts';
import type { ContentTypeDoc } from './content-types.ts';
import { referenceTargets, type Field } from './schema.ts';

/**
 * Generated examples of content, shaped exactly as the API shows (and events carry) the real
 * thing: an entry of a content type with a value of the right type in every field, an asset, a
 * content type. Used for test events of a content type nothing exists in yet, and as the
 * examples of the event catalog. Deterministic (fixed uids and times), so examples are stable.
 *
 * Pure.
 */

/** When every example happened. */
export const EXAMPLE_TIME = '2024-05-01T10:00:00.000Z';
export const EXAMPLE_ENTRY_UID = 'bltexampleentry0001';
export const EXAMPLE_ASSET_UID = 'bltexampleasset0001';
export const EXAMPLE_ACTOR = 'bltexampletoken0001';

/** One value of a field (a list of one for a multiple field; references are always lists). */
export function exampleValue(f: Field): unknown {
  const one = exampleOne(f);
  return f.multiple || f.data_type === 'reference' ? [one] : one;
}

function exampleOne(f: Field): unknown {
  switch (f.data_type) {
    case 'text':
      return `Example ${f.display_name || f.uid}`;
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'isodate':
      return EXAMPLE_TIME;
    case 'json':
      return { example: true };
    case 'file':
      return EXAMPLE_ASSET_UID;
    case 'reference':
      return { uid: 'bltexampleentry0002', _content_type_uid: referenceTargets(f)[0] ?? 'example' };
    case 'group':
    case 'global_field':
      return exampleFields(f.schema ?? []);
  }
}

export function exampleFields(schema: readonly Field[]): Record<string, unknown> {
  return Object.fromEntries(schema.map((f) => [f.uid, exampleValue(f)]));
}

/** An entry of `ct` as the API renders it (`publish_details` and `_archived` included). */
export function exampleEntry(ct: Pick<ContentTypeDoc, 'uid' | 'schema'>, locale: string, actor = EXAMPLE_ACTOR): Record<string, unknown> {
  return {
    ...exampleFields(ct.schema),
    tags: [],
    locale,
    uid: EXAMPLE_ENTRY_UID,
    content_type_uid: ct.uid,
    created_by: actor,
    updated_by: actor,
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
    ACL: {},
    _version: 2,
    _in_progress: false,
    _archived: false,
    publish_details: [],
  };
}

/** An asset as the API renders it. */
export function exampleAsset(actor = EXAMPLE_ACTOR): Record<string, unknown> {
  return {
    uid: EXAMPLE_ASSET_UID,
    title: 'example.png',
    description: '',
    tags: [],
    parent_uid: null,
    filename: 'example.png',
    content_type: 'image/png',
    file_size: '1024',
    is_dir: false,
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
    created_by: actor,
    updated_by: actor,
    ACL: {},
    _version: 2,
    url: 'https://herald.example.com/v3/assets/files/example/example.png',
    _archived: false,
    publish_details: [],
  };
}

/** A content type as the API shows it: a title and a body. */
export function exampleContentType(actor = EXAMPLE_ACTOR): ContentTypeDoc {
  return {
    uid: 'example',
    title: 'Example',
    description: '',
    schema: [
      { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: false, multiple: false },
      { uid: 'body', display_name: 'Body', data_type: 'text', mandatory: false, unique: false, multiple: false },
    ],
    options: {},
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
    created_by: actor,
    updated_by: actor,
    _version: 2,
    inbuilt_class: false,
    maintain_revisions: true,
    last_activity: {},
  };
}

/** The job id of examples. */
export const EXAMPLE_JOB_UID = 'bltexamplejob0001';

/**
 * A bulk job's completion (src/events/job.ts): two entries and an asset, one of the entries
 * failed; a publish or unpublish job reports the environment `environment` (default production).
 */
export function exampleJob(action: JobAction, locale: string, environment: { name: string; uid: string } = { name: 'production', uid: 'bltexampleenvironment' }): JobData {
  const kind = action.replace('.completed', '') as JobKind;
  const perEnvironment = kind !== 'delete';
  const done = kind === 'delete' ? 'delete' : kind;
  return jobData({
    job_id: EXAMPLE_JOB_UID,
    type: kind,
    ...(perEnvironment ? { environment, locales: [locale] } : {}),
    items: [
      { type: 'entry', uid: EXAMPLE_ENTRY_UID, content_type_uid: 'example', locale, status: 'success', event: done, seq: 1232 },
      { type: 'entry', uid: 'bltexampleentry0002', content_type_uid: 'example', locale, status: 'failed', ...(perEnvironment ? { event: `${done}.fail`, seq: 1233 } : {}), reason: 'entry.title is required' },
      { type: 'asset', uid: EXAMPLE_ASSET_UID, ...(perEnvironment ? { locale } : {}), status: 'success', event: done, seq: 1231 },
    ],
    created_at: EXAMPLE_TIME,
    completed_at: EXAMPLE_TIME,
  });
}

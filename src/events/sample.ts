import { getContentType, requireContentType, type ContentTypeDoc } from '../content/content-types.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { fetchEntry } from '../content/entries.ts';
import { fetchAsset } from '../content/assets.ts';
import { exampleAsset, exampleContentType, exampleEntry, exampleJob, EXAMPLE_ENTRY_UID, EXAMPLE_ASSET_UID } from '../content/examples.ts';
import { masterLocale } from '../content/locales.ts';
import { invalid, notFound } from '../errors.ts';
import { json } from '../store/db.ts';
import type { ChannelTarget } from '../webhooks/channels.ts';
import { diffChanges, type Changes } from './changes.ts';
import type { HeraldEvent, JobAction } from './event.ts';

/**
 * A test event (POST /v3/webhooks/{uid}/test with a channel): the event a webhook would get for a
 * kind of change, shaped exactly as a recorded one, but recorded nowhere (`seq` 0). Built from a
 * real entity when a uid is given (its current state; an update's `changes` against its previous
 * version), else from a generated example of the content type (src/content/examples.ts).
 */

/** The `reason` a test `.fail` event carries. */
export const TEST_FAIL_REASON = 'This is a test event: a real one says why the operation failed.';

export async function sampleEvent(deps: ContentDeps, scope: Scope, target: ChannelTarget, opts: { uid?: string; origin: string; now: number }): Promise<HeraldEvent> {
  const uid = opts.uid ?? target.uid;
  const master = await masterLocale(deps.db, scope.api_key);
  let data: Record<string, unknown>;
  let entityUid: string;
  let contentTypeUid: string | null = null;
  let locale: string | null = null;
  let changes: Changes | null = null;
  const exampleChanges = (path: string, old: unknown, now: unknown): Changes => ({ paths: [path], fields: [{ path, old, new: now }], truncated: false });

  if (target.module === 'job') {
    // A job's summary, with example items: the environment the channel names, else the stack's first.
    const row = target.environment
      ? await deps.db.get<{ uid: string; name: string }>('SELECT uid, name FROM environments WHERE api_key = ? AND name = ?', [scope.api_key, target.environment])
      : await deps.db.get<{ uid: string; name: string }>('SELECT uid, name FROM environments WHERE api_key = ? ORDER BY created_at, uid LIMIT 1', [scope.api_key]);
    const env = row ?? { uid: 'bltexampleenvironment', name: target.environment ?? 'development' };
    const job = exampleJob(target.action as JobAction, master, { name: env.name, uid: env.uid });
    return {
      seq: 0,
      api_key: scope.api_key,
      branch: scope.branch,
      module: 'job',
      action: target.action,
      uid: job.job_id,
      content_type_uid: null,
      locale: null,
      environment: job.environment?.name ?? null,
      actor: scope.caller.actor,
      actor_name: scope.caller.actor === 'admin' ? 'admin' : (scope.caller.name ?? null),
      changes: null,
      data: job as unknown as Record<string, unknown>,
      created_at: opts.now,
    };
  }

  if (target.module === 'entry') {
    let ct: ContentTypeDoc;
    let entry: Record<string, unknown>;
    if (uid) {
      const row = await deps.db.get<{ content_type_uid: string }>('SELECT content_type_uid FROM entries WHERE api_key = ? AND branch = ? AND uid = ? LIMIT 1', [scope.api_key, scope.branch, uid]);
      if (!row) throw notFound(`Entry ${uid}`);
      if (target.contentType && target.contentType !== row.content_type_uid) throw invalid('uid', `is an entry of content type '${row.content_type_uid}', not '${target.contentType}'`);
      ct = await requireContentType(deps.db, scope, row.content_type_uid);
      entry = await fetchEntry(deps, scope, ct.uid, uid);
      if (target.action === 'update' || target.action === 'auto_save') changes = await entryChanges(deps, scope, entry);
    } else {
      if (!target.contentType) throw invalid('channel', 'names no content type: use content_types.{content_type}.entries.{action}, or give the uid of an entry');
      ct = await requireContentType(deps.db, scope, target.contentType);
      entry = exampleEntry(ct, master, scope.caller.actor);
      const title = ct.schema.find((f) => f.data_type === 'text' && !f.multiple);
      if (target.action === 'update' || target.action === 'auto_save') changes = title ? exampleChanges(title.uid, `Earlier ${entry[title.uid]}`, entry[title.uid]) : { paths: [], fields: [], truncated: false };
    }
    entityUid = String(entry.uid ?? EXAMPLE_ENTRY_UID);
    contentTypeUid = ct.uid;
    locale = String(entry.locale ?? master);
    data = { entry, content_type: ct };
    if (target.action === 'delete') data.deleted_locales = [locale];
  } else if (target.module === 'asset') {
    const asset = uid ? await fetchAsset(deps, scope, uid, opts.origin) : exampleAsset(scope.caller.actor);
    entityUid = String(asset.uid ?? EXAMPLE_ASSET_UID);
    data = { asset };
    if (target.action === 'update') changes = uid ? { paths: [], fields: [], truncated: false } : exampleChanges('title', 'earlier.png', asset.title);
  } else {
    const ctUid = uid ?? target.contentType;
    let ct: ContentTypeDoc;
    if (ctUid) {
      const found = await getContentType(deps.db, scope, ctUid);
      if (!found) throw notFound(`Content type '${ctUid}'`);
      ct = found;
    } else ct = exampleContentType(scope.caller.actor);
    entityUid = ct.uid;
    contentTypeUid = ct.uid;
    data = { content_type: ct };
    if (target.action === 'update') changes = exampleChanges('title', `Earlier ${ct.title}`, ct.title);
  }

  let environment: string | null = null;
  if (/^(un)?publish/.test(target.action) && target.module !== 'content_type') {
    const env = await deps.db.get<{ uid: string; name: string }>('SELECT uid, name FROM environments WHERE api_key = ? ORDER BY created_at, uid LIMIT 1', [scope.api_key]);
    const e = env ?? { uid: 'bltexampleenvironment', name: 'development' };
    environment = e.name;
    locale ??= master;
    data.environment = { name: e.name, uid: e.uid };
    data.locale = locale;
  }
  if (target.action.endsWith('.fail')) data.reason = TEST_FAIL_REASON;

  return {
    seq: 0,
    api_key: scope.api_key,
    branch: scope.branch,
    module: target.module,
    action: target.action,
    uid: entityUid,
    content_type_uid: contentTypeUid,
    locale,
    environment,
    actor: scope.caller.actor,
    actor_name: scope.caller.actor === 'admin' ? 'admin' : (scope.caller.name ?? null),
    changes,
    data,
    created_at: opts.now,
  };
}

/** An entry's changes against its previous version in its locale (none for a first version). */
async function entryChanges(deps: ContentDeps, scope: Scope, entry: Record<string, unknown>): Promise<Changes> {
  const version = Number(entry._version ?? 0);
  const rows = await deps.db.all<{ version: number; doc: string }>(
    'SELECT version, doc FROM entry_versions WHERE api_key = ? AND branch = ? AND uid = ? AND locale = ? AND version IN (?, ?)',
    [scope.api_key, scope.branch, entry.uid, entry.locale, version - 1, version],
  );
  const before = rows.find((r) => Number(r.version) === version - 1);
  const after = rows.find((r) => Number(r.version) === version);
  if (!before || !after) return { paths: [], fields: [], truncated: false };
  return diffChanges('entry', json(before.doc), json(after.doc));
}

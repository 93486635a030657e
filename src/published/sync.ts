import { iso } from '../content/context.ts';
import { isObject } from '../content/guards.ts';
import { eventFromRow, type EventRow } from '../events/record.ts';
import type { HeraldEvent } from '../events/event.ts';
import { fieldErrors, invalid } from '../errors.ts';
import { json, type Queryable } from '../store/db.ts';
import { presentAsset, type ReadContext, type ReadDeps } from './contentstack.ts';
import type { PublishedDoc } from './view.ts';

/**
 * Contentstack's Sync API (`/v3/stacks/sync`) over what is published and the event log.
 *
 * An initial sync (`init=true`) pages through what is published now to the environment, as of a
 * snapshot: the stack's latest event seq S when it started. Publications made after S (stamped
 * with a later seq) are left out of it; their events come in the next sync. Its last page gives
 * a `sync_token` naming S. A sync with that token pages through the stack's events after S that
 * change what the environment shows (publish, unpublish, delete, content type delete), in order,
 * and ends with a token naming the last event it looked at. So a client that syncs sees every
 * change once: nothing before S twice (the snapshot holds it), nothing after S missed (the log
 * holds it, and a stack's events commit in seq order on both backends).
 *
 * Tokens are opaque to clients: base64url JSON of where the sync is and its filters. A token
 * names its environment and branch, which must be the request's; it grants nothing by itself
 * (the delivery token is checked on every request).
 */
export const SYNC_TYPES = [
  'entry_published',
  'entry_unpublished',
  'entry_deleted',
  'asset_published',
  'asset_unpublished',
  'asset_deleted',
  'content_type_deleted',
] as const;
export type SyncType = (typeof SYNC_TYPES)[number];

/** Items per page (Contentstack's). */
export const SYNC_PAGE = 100;
/** Events read per round while filling a delta page. */
const EVENT_BATCH = 500;

interface Filters {
  types?: SyncType[];
  content_type_uid?: string;
  locale?: string;
  /** ms */
  start?: number;
}

type State =
  | { v: 1; mode: 'init'; env: string; branch: string; snapshot: number; after: [string, string, string] | null; f: Filters }
  | { v: 1; mode: 'delta'; env: string; branch: string; after: number; f: Filters };

const encode = (s: State) => Buffer.from(JSON.stringify(s)).toString('base64url');

function decode(token: string, field: string): State {
  let s: unknown;
  try {
    s = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid(field, 'is not a token this server issued');
  }
  const ok =
    isObject(s) &&
    s.v === 1 &&
    typeof s.env === 'string' &&
    typeof s.branch === 'string' &&
    isObject(s.f) &&
    ((s.mode === 'init' && Number.isInteger(s.snapshot) && (s.after === null || (Array.isArray(s.after) && s.after.length === 3 && s.after.every((x) => typeof x === 'string')))) ||
      (s.mode === 'delta' && Number.isInteger(s.after)));
  if (!ok) throw invalid(field, 'is not a token this server issued');
  return s as State;
}

/** Reads the sync request's own parameters (pure). */
export function parseSyncRequest(q: Record<string, unknown>): { init: boolean; pagination?: string; sync?: string; filters: Filters } {
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const errors = fieldErrors();
  const text = (k: string) => {
    const v = first(q[k]);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const init = text('init') === 'true';
  const pagination = text('pagination_token');
  const sync = text('sync_token');
  if ([init, pagination, sync].filter(Boolean).length !== 1) (errors.init ??= []).push('give exactly one of init=true, pagination_token, sync_token');
  const filters: Filters = {};
  const type = text('type');
  if (type) {
    const types = type.split(',').map((t) => t.trim());
    const bad = types.filter((t) => !(SYNC_TYPES as readonly string[]).includes(t));
    if (bad.length) (errors.type ??= []).push(`names ${bad.join(', ')}; types are ${SYNC_TYPES.join(', ')}`);
    filters.types = types as SyncType[];
  }
  filters.content_type_uid = text('content_type_uid');
  filters.locale = text('locale')?.toLowerCase();
  const start = text('start_date');
  if (start) {
    const ms = Date.parse(start);
    if (Number.isNaN(ms)) (errors.start_date ??= []).push('must be an ISO 8601 date, e.g. 2026-01-31 or 2026-01-31T10:00:00Z');
    filters.start = ms;
  }
  if (!init && (type || filters.content_type_uid || filters.locale || start)) {
    (errors[type ? 'type' : filters.content_type_uid ? 'content_type_uid' : filters.locale ? 'locale' : 'start_date'] ??= []).push(
      'applies to init=true only: a token carries the filters of its initial sync',
    );
  }
  if (Object.keys(errors).length) throw invalid(Object.keys(errors)[0], Object.values(errors)[0][0]);
  for (const k of Object.keys(filters) as Array<keyof Filters>) if (filters[k] === undefined) delete filters[k];
  return { init, pagination, sync, filters };
}

const wants = (f: Filters, t: SyncType) => !f.types || f.types.includes(t);

interface PubRow {
  module: 'entry' | 'asset';
  uid: string;
  locale: string;
  content_type_uid: string | null;
  version: number;
  published_at: number;
  actor: string;
  seq: number;
  doc: string;
}

export async function sync(deps: ReadDeps & { db: Queryable }, ctx: ReadContext, req: ReturnType<typeof parseSyncRequest>) {
  let state: State;
  if (req.init) state = { v: 1, mode: 'init', env: ctx.environment.uid, branch: ctx.scope.branch, snapshot: ctx.seq, after: null, f: req.filters };
  else {
    state = decode((req.pagination ?? req.sync)!, req.pagination ? 'pagination_token' : 'sync_token');
    if (state.env !== ctx.environment.uid || state.branch !== ctx.scope.branch) {
      throw invalid(req.pagination ? 'pagination_token' : 'sync_token', 'belongs to another environment or branch than this request reads');
    }
  }
  return state.mode === 'init' ? initPage(deps, ctx, state) : deltaPage(deps, ctx, state);
}

function entryItem(ctx: ReadContext, p: Pick<PubRow, 'locale' | 'published_at' | 'actor'>, doc: Record<string, unknown>) {
  const { _archived, publish_details, ...rest } = doc;
  void _archived;
  void publish_details;
  return { ...rest, publish_details: { environment: ctx.environment.uid, locale: p.locale, time: iso(Number(p.published_at)), user: p.actor } };
}

async function initPage(deps: ReadDeps, ctx: ReadContext, s: Extract<State, { mode: 'init' }>) {
  const f = s.f;
  const modules = (['asset', 'entry'] as const).filter((m) => wants(f, `${m}_published`) && !(m === 'asset' && f.content_type_uid));
  const items: unknown[] = [];
  let more = false;
  if (modules.length) {
    const params: unknown[] = [ctx.scope.api_key, s.branch, s.env, s.snapshot, ...modules];
    let sql = `SELECT module, uid, locale, content_type_uid, version, published_at, actor, seq, doc FROM publications
               WHERE api_key = ? AND branch = ? AND environment = ? AND seq <= ? AND module IN (${modules.map(() => '?').join(', ')})`;
    if (f.content_type_uid) {
      sql += ' AND content_type_uid = ?';
      params.push(f.content_type_uid);
    }
    if (f.locale) {
      sql += ' AND locale = ?';
      params.push(f.locale);
    }
    if (f.start !== undefined) {
      sql += ' AND published_at >= ?';
      params.push(f.start);
    }
    if (s.after) {
      const [m, u, l] = s.after;
      sql += ' AND (module > ? OR (module = ? AND (uid > ? OR (uid = ? AND locale > ?))))';
      params.push(m, m, u, u, l);
    }
    sql += ' ORDER BY module, uid, locale LIMIT ?';
    params.push(SYNC_PAGE + 1);
    const rows = await deps.db.all<PubRow>(sql, params);
    more = rows.length > SYNC_PAGE;
    for (const r of rows.slice(0, SYNC_PAGE)) {
      const d: PublishedDoc = { uid: r.uid, locale: r.locale, version: Number(r.version), published_at: Number(r.published_at), actor: r.actor, seq: Number(r.seq), doc: json(r.doc) };
      items.push(
        r.module === 'asset'
          ? { type: 'asset_published', event_at: iso(d.published_at), content_type_uid: 'sys_assets', data: presentAsset(deps, ctx, d) }
          : { type: 'entry_published', event_at: iso(d.published_at), content_type_uid: r.content_type_uid, data: entryItem(ctx, r, d.doc) },
      );
    }
    if (more) {
      const last = rows[SYNC_PAGE - 1];
      return { items, skip: 0, limit: SYNC_PAGE, total_count: items.length, pagination_token: encode({ ...s, after: [last.module, last.uid, last.locale] }) };
    }
  }
  return { items, skip: 0, limit: SYNC_PAGE, total_count: items.length, sync_token: encode({ v: 1, mode: 'delta', env: s.env, branch: s.branch, after: s.snapshot, f }) };
}

/** The sync item an event makes for this environment, or undefined when it changes nothing there. */
function itemOf(deps: ReadDeps, ctx: ReadContext, e: HeraldEvent, f: Filters): unknown {
  if (e.branch !== ctx.scope.branch) return undefined;
  const at = iso(e.created_at);
  const envUid = isObject(e.data.environment) ? e.data.environment.uid : undefined;
  const entity = (e.module === 'entry' ? e.data.entry : e.data.asset) as Record<string, unknown> | undefined;
  if (e.module === 'content_type') {
    if (e.action !== 'delete' || !wants(f, 'content_type_deleted') || (f.content_type_uid && f.content_type_uid !== e.uid)) return undefined;
    return { type: 'content_type_deleted', event_at: at, content_type_uid: e.uid, data: { uid: e.uid } };
  }
  if (e.module === 'entry' && f.content_type_uid && f.content_type_uid !== e.content_type_uid) return undefined;
  if (e.module === 'asset' && f.content_type_uid) return undefined;
  if (f.locale && e.locale && e.locale !== f.locale) return undefined;
  const ctUid = e.module === 'entry' ? e.content_type_uid : 'sys_assets';
  if (e.action === 'publish' || e.action === 'unpublish') {
    if (envUid !== ctx.environment.uid || !entity) return undefined;
    const type = `${e.module}_${e.action}ed` as SyncType;
    if (!wants(f, type)) return undefined;
    if (e.action === 'unpublish') return { type, event_at: at, content_type_uid: ctUid, data: { uid: e.uid, locale: e.locale ?? undefined, ...(e.module === 'entry' ? { content_type_uid: e.content_type_uid } : {}) } };
    const pub = { locale: (e.data.locale as string) ?? e.locale ?? '', published_at: e.created_at, actor: e.actor };
    if (e.module === 'entry') return { type, event_at: at, content_type_uid: ctUid, data: entryItem(ctx, pub, entity) };
    const d: PublishedDoc = { uid: e.uid, locale: pub.locale, version: Number(entity._version), published_at: e.created_at, actor: e.actor, seq: e.seq, doc: entity };
    const { url: _u, _archived, publish_details, ...doc } = entity;
    void _u;
    void _archived;
    void publish_details;
    return { type, event_at: at, content_type_uid: ctUid, data: presentAsset(deps, ctx, { ...d, doc }) };
  }
  if (e.action === 'delete' && entity) {
    const type = `${e.module}_deleted` as SyncType;
    if (!wants(f, type)) return undefined;
    // Only what this environment could have shown: the snapshot's publications name it.
    const pubs = Array.isArray(entity.publish_details) ? (entity.publish_details as Array<{ environment?: string }>) : [];
    if (!pubs.some((p) => p.environment === ctx.environment.uid)) return undefined;
    return { type, event_at: at, content_type_uid: ctUid, data: { uid: e.uid, locale: e.locale ?? undefined, ...(e.module === 'entry' ? { content_type_uid: e.content_type_uid } : {}) } };
  }
  return undefined;
}

async function deltaPage(deps: ReadDeps, ctx: ReadContext, s: Extract<State, { mode: 'delta' }>) {
  const items: unknown[] = [];
  let cursor = s.after;
  for (;;) {
    const rows = await deps.db.all<EventRow>(
      `SELECT * FROM events WHERE api_key = ? AND seq > ? AND seq <= ? AND action IN ('publish', 'unpublish', 'delete') ORDER BY seq LIMIT ?`,
      [ctx.scope.api_key, cursor, ctx.seq, EVENT_BATCH],
    );
    for (const r of rows) {
      const item = itemOf(deps, ctx, eventFromRow(r), s.f);
      cursor = Number(r.seq);
      if (item) items.push(item);
      if (items.length === SYNC_PAGE) {
        const more = await deps.db.get('SELECT 1 AS ok FROM events WHERE api_key = ? AND seq > ? AND seq <= ? LIMIT 1', [ctx.scope.api_key, cursor, ctx.seq]);
        if (more) return { items, skip: 0, limit: SYNC_PAGE, total_count: items.length, pagination_token: encode({ ...s, after: cursor }) };
        return { items, skip: 0, limit: SYNC_PAGE, total_count: items.length, sync_token: encode({ ...s, after: Math.max(cursor, ctx.seq) }) };
      }
    }
    if (rows.length < EVENT_BATCH) break;
  }
  // Everything up to the request's snapshot was looked at.
  return { items, skip: 0, limit: SYNC_PAGE, total_count: items.length, sync_token: encode({ ...s, after: Math.max(cursor, ctx.seq) }) };
}

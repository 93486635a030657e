import { HeraldError, invalid } from '../errors.ts';

/**
 * An event as the backup center keeps it: the same fields as Herald's event feed
 * (`GET /v3/events`), plus where it came from. A delivery's body (`{event, module, api_key, data,
 * triggered_at, branch, seq}`) lacks some of them; `fromDelivery` derives them from the snapshot,
 * and `actor` stays unknown until the feed supplies it.
 */
export const MODULES = ['content_type', 'entry', 'asset'] as const;
export type Module = (typeof MODULES)[number];

export interface BackupEvent {
  api_key: string;
  seq: number;
  branch: string;
  module: Module;
  action: string;
  uid: string;
  content_type_uid: string | null;
  /** The event's locale: for publish events the locale published to, for entries their line. */
  locale: string | null;
  /** Entries: the locale of the version line the snapshot belongs to. '' for other modules. */
  line: string;
  environment: string | null;
  /** Who made the change; null when only a delivery was seen (deliveries do not carry it). */
  actor: string | null;
  /** The name of the token that made the change (from the feed); null when unknown. */
  actor_name: string | null;
  /** The snapshot's `_version`. */
  version: number | null;
  title: string | null;
  /** `{entry, content_type}`, `{asset}` or `{content_type}`, plus environment/locale/reason. */
  data: Record<string, unknown>;
  /** A concise payload: the snapshot holds identity and metadata only, not the content. */
  partial: boolean;
  origin: 'webhook' | 'feed';
  /** Event time at the source, ms. */
  created_at: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The entity snapshot an event carries: `data.entry`, `data.asset` or `data.content_type`. */
export function snapshotOf(module: Module, data: Record<string, unknown>): Record<string, unknown> | undefined {
  const s = data[module];
  return isObject(s) ? s : undefined;
}

/**
 * Whether a snapshot is a concise payload's (Herald's `concise_payload` keeps identity and
 * metadata): full entries always carry `tags`, full assets `file_size`, full content types
 * `schema`.
 */
export function isConcise(module: Module, snap: Record<string, unknown>): boolean {
  if (module === 'entry') return !Array.isArray(snap.tags);
  if (module === 'asset') return snap.file_size === undefined;
  return !Array.isArray(snap.schema);
}

function titleOf(module: Module, snap: Record<string, unknown>): string | null {
  if (module === 'asset') return str(snap.title) ?? str(snap.filename);
  return str(snap.title);
}

interface Fields {
  api_key: unknown;
  seq: unknown;
  branch: unknown;
  module: unknown;
  action: unknown;
  data: unknown;
  created_at: number;
  actor: string | null;
  actor_name?: string | null;
  /** Fields the feed gives directly (a delivery derives them). */
  uid?: unknown;
  content_type_uid?: unknown;
  locale?: unknown;
  environment?: unknown;
}

function build(f: Fields, origin: BackupEvent['origin'], where: string): BackupEvent {
  const errors: Record<string, string[]> = {};
  const bad = (field: string, problem: string) => (errors[field] ??= []).push(problem);
  if (typeof f.api_key !== 'string' || f.api_key === '') bad('api_key', 'is required');
  if (!Number.isSafeInteger(f.seq) || (f.seq as number) < 1) bad('seq', 'must be a whole number >= 1 (the event sequence number)');
  if (typeof f.branch !== 'string' || f.branch === '') bad('branch', 'is required');
  if (!MODULES.includes(f.module as Module)) bad('module', `must be one of ${MODULES.join(', ')}`);
  if (typeof f.action !== 'string' || f.action === '') bad('event', 'is required');
  if (!isObject(f.data)) bad('data', 'must be an object');
  if (Object.keys(errors).length) {
    const [field, problems] = Object.entries(errors)[0];
    throw new HeraldError('validation_failed', `${where}: ${field} ${problems[0]}`, { errors });
  }
  const module = f.module as Module;
  const data = f.data as Record<string, unknown>;
  const snap = snapshotOf(module, data);
  if (!snap) throw invalid(`data.${module}`, `is required (the ${module} snapshot)`);
  const uid = str(f.uid) ?? str(snap.uid);
  if (!uid) throw invalid(`data.${module}.uid`, 'is required');
  const ct = isObject(data.content_type) ? data.content_type : undefined;
  const contentTypeUid = module === 'content_type' ? uid : module === 'entry' ? (str(f.content_type_uid) ?? str(ct?.uid) ?? str(snap.content_type_uid)) : null;
  if (module === 'entry' && !contentTypeUid) throw invalid('data.entry.content_type_uid', 'is required');
  const env = isObject(data.environment) ? str(data.environment.name) : str(data.environment);
  const line = module === 'entry' ? (str(snap.locale) ?? str(f.locale) ?? '') : '';
  const version = Number.isSafeInteger(snap._version) ? (snap._version as number) : null;
  return {
    api_key: f.api_key as string,
    seq: f.seq as number,
    branch: f.branch as string,
    module,
    action: f.action as string,
    uid,
    content_type_uid: contentTypeUid,
    locale: str(f.locale) ?? str(data.locale) ?? (module === 'entry' ? line || null : null),
    line,
    environment: str(f.environment) ?? env,
    actor: f.actor,
    actor_name: f.actor_name ?? null,
    version,
    title: titleOf(module, snap),
    data,
    partial: isConcise(module, snap),
    origin,
    created_at: f.created_at,
  };
}

/** A delivery's body (Herald's Contentstack payload, seed 003) as an event; 422 naming what is wrong. */
export function fromDelivery(body: unknown): BackupEvent {
  if (!isObject(body)) throw invalid('body', 'must be a JSON object (a Herald webhook payload)');
  const branch = isObject(body.branch) ? body.branch.uid : body.branch;
  const at = typeof body.triggered_at === 'string' ? Date.parse(body.triggered_at) : NaN;
  if (Number.isNaN(at)) throw invalid('triggered_at', 'must be an ISO 8601 time');
  return build(
    { api_key: body.api_key, seq: body.seq, branch, module: body.module, action: body.event, data: body.data, created_at: at, actor: null },
    'webhook',
    'The delivery is not a Herald event',
  );
}

/** One item of the source's event feed as an event. */
export function fromFeed(item: unknown): BackupEvent {
  if (!isObject(item)) throw invalid('events[]', 'must be an object');
  const at = Number(item.created_at);
  return build(
    {
      api_key: item.api_key,
      seq: item.seq,
      branch: item.branch,
      module: item.module,
      action: item.action,
      data: item.data,
      created_at: Number.isFinite(at) ? at : Date.now(),
      actor: str(item.actor),
      actor_name: str(item.actor_name),
      uid: item.uid,
      content_type_uid: item.content_type_uid,
      locale: item.locale,
      environment: item.environment,
    },
    'feed',
    'The feed returned an event the backup cannot read',
  );
}

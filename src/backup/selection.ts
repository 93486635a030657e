import { HeraldError, invalid } from '../errors.ts';
import type { Module } from './event.ts';
import type { Selection } from './history.ts';
import type { BackupStore, EntityRow } from './store.ts';

/** Reading what a restore should bring back from a form, a JSON body or command-line flags. */

export function positiveInt(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(field, 'must be a whole number >= 1');
  return n;
}

/** Which content to restore; at most one of seq, version and before (a time), each optionally within one incarnation. */
export function parseSelection(raw: { seq?: unknown; version?: unknown; before?: unknown; locale?: unknown; incarnation?: unknown }): Selection {
  const sel: Selection = {};
  const seq = positiveInt(raw.seq, 'seq');
  const version = positiveInt(raw.version, 'version');
  const incarnation = positiveInt(raw.incarnation, 'incarnation');
  if (seq !== undefined) sel.seq = seq;
  if (version !== undefined) sel.version = version;
  if (incarnation !== undefined) sel.incarnation = incarnation;
  if (raw.before !== undefined && raw.before !== null && raw.before !== '') {
    const t = typeof raw.before === 'number' ? raw.before : /^\d+$/.test(String(raw.before)) ? Number(raw.before) : Date.parse(String(raw.before));
    if (!Number.isFinite(t)) throw invalid('before', 'must be a time: ISO 8601 (2024-05-01T10:00:00Z) or milliseconds since 1970');
    sel.before = t;
  }
  if (raw.locale !== undefined && raw.locale !== null && raw.locale !== '') {
    if (typeof raw.locale !== 'string') throw invalid('locale', 'must be a locale code');
    sel.locale = raw.locale.toLowerCase();
  }
  if ([sel.seq, sel.version, sel.before].filter((x) => x !== undefined).length > 1) {
    throw new HeraldError('validation_failed', 'Give at most one of seq, version and before.', { errors: { version: ['cannot be combined with seq or before'] } });
  }
  return sel;
}

/**
 * The entity a reader names by module and uid (and, for an entry, optionally its content type) in a
 * stack's branch of the backup; undefined when it holds none. An entry is keyed by content type and
 * uid: without `contentTypeUid`, the uid's one entry; a uid that several content types' entries had
 * (one deleted and the uid given again) is a 422 naming `field` (the caller's name for the content
 * type), never one of them picked.
 */
export function findEntity(store: BackupStore, apiKey: string, branch: string, module: Module, uid: string, contentTypeUid: string | undefined, field: string): EntityRow | undefined {
  if (module !== 'entry') return store.entity(apiKey, branch, module, uid, null);
  if (contentTypeUid) return store.entity(apiKey, branch, module, uid, contentTypeUid);
  const all = store.entitiesWithUid(apiKey, branch, module, uid);
  if (all.length > 1) {
    const types = all.map((e) => e.content_type_uid).join(', ');
    throw invalid(field, `is required: the backup holds entries of several content types with uid ${uid} (${types}; a uid given again after a delete); name one`);
  }
  return all[0];
}

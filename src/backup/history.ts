import { environmentIdOf } from '../contentful/entities.ts';
import { HeraldError, invalid } from '../errors.ts';
import { snapshotOf, type BackupEvent, type Module } from './event.ts';

/**
 * What an entity's history says, as pure functions over its events (oldest first): its state now
 * (for browsing), the content to bring back (for restore) and where it is published.
 *
 * Entries have one version line per locale. A `delete` event names one line: Herald records one
 * event when a single locale is deleted (`?locale=`) and also one, for the line shown in the
 * master locale, when the whole entry is deleted. Herald's delete events now name the lines removed
 * (`data.deleted_locales`); for older events that do not, the backup reads a delete of the entry's origin line (the line it was created in, which is
 * the one shown in the master locale) or of its last live line as the whole entry going away, and
 * any other as that locale only. (Deleting only the origin line while other locales remain reads
 * as a whole-entry delete; Contentstack itself does not allow that.)
 */
export type LineState = 'live' | 'deleted';

export interface EntitySummary {
  module: Module;
  uid: string;
  content_type_uid: string | null;
  title: string | null;
  lines: Record<string, LineState>;
  /** The line the entity the uid names now was first seen in ('' for content types and assets). */
  origin_line: string;
  /** True when no line is live: the entity is gone at the source. */
  deleted: boolean;
  /** Events of the entity the uid names now (its last incarnation; see incarnations()). */
  events: number;
  /**
   * How many entities the uid named one after another (incarnations()): 1, or more where the
   * entity was made again under its uid once wholly deleted.
   */
  incarnations: number;
  last_seq: number;
  last_action: string;
}

/** The lines a delete event removes, given the lines live before it. */
function deletedLines(e: BackupEvent, live: string[], origin: string): string[] {
  if (e.module !== 'entry') return [''];
  // Herald names the lines a delete removed; events recorded before it did are read as below.
  const named = e.data.deleted_locales;
  if (Array.isArray(named) && named.every((l) => typeof l === 'string')) return named as string[];
  if (e.line === origin) return [...new Set([...live, e.line])];
  return [e.line];
}

/** Whether `e` begins another entity under the uid: a create after the entity was wholly deleted. */
const remakes = (s: EntitySummary | undefined, e: BackupEvent): boolean => s?.deleted === true && e.action === 'create';

/** Folds one more event (newer than all folded so far) into a summary. */
export function applyEvent(s: EntitySummary | undefined, e: BackupEvent): EntitySummary {
  // Another entity under the uid (remakes): its lines, title and events start again.
  const next: EntitySummary =
    s && !remakes(s, e)
      ? { ...s, lines: { ...s.lines } }
      : { module: e.module, uid: e.uid, content_type_uid: e.content_type_uid, title: null, lines: {}, origin_line: e.line, deleted: false, events: 0, incarnations: (s?.incarnations ?? 0) + 1, last_seq: 0, last_action: e.action };
  if (e.action === 'delete') {
    const live = Object.keys(next.lines).filter((l) => next.lines[l] === 'live');
    for (const l of deletedLines(e, live, next.origin_line)) next.lines[l] = 'deleted';
  } else {
    next.lines[e.line] = 'live';
  }
  next.deleted = !Object.values(next.lines).includes('live');
  if (e.title !== null) next.title = e.title;
  if (e.content_type_uid) next.content_type_uid = e.content_type_uid;
  next.events += 1;
  next.last_seq = e.seq;
  next.last_action = e.action;
  return next;
}

/**
 * The seqs of the creates that made the entity again under its uid once it was wholly deleted: a
 * deleted asset's uid given to a new asset (x-herald-uid, a Contentful id reused, a restore keeping
 * the uid), a deleted entry's to a new entry of its content type. Each begins another entity's
 * versions (from 1 again) in the same history: readers show it apart and diff nothing across it.
 */
export function remadeAt(events: BackupEvent[]): Set<number> {
  return historyMarks(events).remade;
}

/** What a history says of each of its events: remadeAt, and incarnationOf (which entity under the uid, from 1). */
export interface HistoryMarks {
  remade: Set<number>;
  incarnation: Map<number, number>;
}

/** remadeAt and incarnationOf of one history from a single replay of it (a reader wanting both replays once). */
export function historyMarks(events: BackupEvent[]): HistoryMarks {
  const remade = new Set<number>();
  const incarnation = new Map<number, number>();
  let s: EntitySummary | undefined;
  let n = 0;
  for (const e of sortBySeq(events)) {
    const again = remakes(s, e);
    if (again) remade.add(e.seq);
    if (n === 0 || again) n++;
    incarnation.set(e.seq, n);
    s = applyEvent(s, e);
  }
  return { remade, incarnation };
}

/**
 * The entities a uid named one after another: its history split before each create of remadeAt,
 * oldest first, each part oldest first. A reader names one by its number from 1 (`incarnation`: 1 is
 * the first entity made under the uid); most histories are one part. Empty for no events.
 */
export function incarnations(events: BackupEvent[]): BackupEvent[][] {
  const remade = remadeAt(events);
  const parts: BackupEvent[][] = [];
  for (const e of sortBySeq(events)) {
    if (parts.length === 0 || remade.has(e.seq)) parts.push([]);
    parts[parts.length - 1]!.push(e);
  }
  return parts;
}

/** The incarnation (from 1) of each event of a history, by seq (see incarnations()). */
export function incarnationOf(events: BackupEvent[]): Map<number, number> {
  return historyMarks(events).incarnation;
}

/** "incarnation 2 (made at seq 51, 2026-05-01T10:00:00.000Z; deleted at seq 60)": how errors name one. */
function incarnationLabel(part: BackupEvent[], n: number): string {
  const first = part[0]!;
  const last = part[part.length - 1]!;
  const gone = summarize(part)?.deleted;
  return `incarnation ${n} (made at seq ${first.seq}, ${iso(first.created_at)}${gone ? `; deleted at seq ${last.seq}` : '; live'})`;
}

export function summarize(events: BackupEvent[]): EntitySummary | undefined {
  let s: EntitySummary | undefined;
  for (const e of sortBySeq(events)) s = applyEvent(s, e);
  return s;
}

function sortBySeq(events: BackupEvent[]): BackupEvent[] {
  return [...events].sort((a, b) => a.seq - b.seq);
}

/** One line's content at some point: the event whose snapshot holds it. */
export interface Content {
  line: string;
  seq: number;
  version: number | null;
  created_at: number;
  /** The entity snapshot (entry, asset or content type). */
  doc: Record<string, unknown>;
  /** The event's whole data (for entries: the content type as it was then). */
  data: Record<string, unknown>;
}

function contentOf(e: BackupEvent): Content {
  return { line: e.line, seq: e.seq, version: e.version, created_at: e.created_at, doc: snapshotOf(e.module, e.data)!, data: e.data };
}

interface Replay {
  origin: string;
  /** Content of each live line. */
  live: Map<string, Content>;
  /** The live lines just before the entity last had none left (its state before deletion). */
  beforeDeletion: Map<string, Content>;
  /** The last content of every line ever seen, live or deleted. */
  last: Map<string, Content>;
}

/**
 * Replays events to know each line's content. A line's content is the newest snapshot whose
 * `_version` is at least the line's highest so far: publishing an older version (`version` in
 * the publish request) carries that older snapshot, which is not the line's content. Partial
 * (concise) snapshots say a line exists but not what it holds.
 */
function replay(events: BackupEvent[]): Replay {
  const sorted = sortBySeq(events);
  const r: Replay = { origin: sorted[0]?.line ?? '', live: new Map(), beforeDeletion: new Map(), last: new Map() };
  const liveNames = new Set<string>();
  for (const e of sorted) {
    if (e.action === 'delete') {
      const gone = deletedLines(e, [...liveNames], r.origin);
      if (liveNames.size > 0 && [...liveNames].every((l) => gone.includes(l))) r.beforeDeletion = new Map(r.live);
      for (const l of gone) {
        liveNames.delete(l);
        r.live.delete(l);
      }
      continue;
    }
    const wasLive = liveNames.has(e.line);
    liveNames.add(e.line);
    if (e.partial) continue;
    const cur = r.live.get(e.line);
    if (!wasLive || !cur || (e.version ?? 0) >= (cur.version ?? 0)) {
      const c = contentOf(e);
      r.live.set(e.line, c);
      r.last.set(e.line, c);
    }
  }
  return r;
}

/** Which content a restore brings back. At most one of seq, version and before. */
export interface Selection {
  /** The content of exactly this event (the page's Restore button on a version). */
  seq?: number;
  /** The entity's `_version` (for entries, of one line: `locale`, default the origin line). */
  version?: number;
  /** The content the entity had just before this time (ms). */
  before?: number;
  /** Entries: only this locale's line. */
  locale?: string;
  /**
   * Which of the entities the uid named one after another (incarnations(), from 1) the other choices
   * look in; without it, `version` looks in every one (and a version held by several is a 422 naming
   * them), `before` in the one live (or last) at that time, nothing given in the last one.
   */
  incarnation?: number;
}

export interface Choice {
  origin_line: string;
  /** The lines to bring back, each with its content. */
  lines: Content[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The content to restore (see docs/backup-format.md "Restore"):
 * - `seq`: that event's line and snapshot;
 * - `version`: that `_version` of the line (`locale`, default the origin line);
 * - `before`: every line live at that time, with its content then;
 * - nothing: a deleted entity as it was just before its deletion, a live one as it is now; with
 *   `locale`, that line's last content (also when only that locale was deleted).
 * Where the uid named several entities one after another (incarnations()), `incarnation` picks the
 * one to look in; without it `version` looks in each and refuses one several hold (a 422 naming
 * them), `before` looks in the one of that time, nothing given in the last. A 404 names what the
 * history lacks.
 */
export function chooseContent(module: Module, uid: string, events: BackupEvent[], sel: Selection = {}): Choice {
  const what = `${module} ${uid}`;
  if (events.length === 0) throw new HeraldError('not_found', `The backup holds no history of ${what}.`);
  const parts = incarnations(events);
  const label = (n: number) => incarnationLabel(parts[n - 1]!, n);
  const named = sel.incarnation;
  if (named !== undefined && !parts[named - 1]) {
    const held = parts.length === 1 ? 'one (it was never made again under its uid)' : `${parts.length}: ${parts.map((_, i) => label(i + 1)).join(', ')}`;
    throw new HeraldError('not_found', `The backup holds no incarnation ${named} of ${what}; it holds ${held}.`, { errors: { incarnation: [`is not an incarnation of this ${module.replace('_', ' ')}`] } });
  }
  const scope = named !== undefined ? [{ n: named, part: parts[named - 1]! }] : parts.map((part, i) => ({ n: i + 1, part }));
  const within = named !== undefined ? ` in incarnation ${named}` : '';
  const pick = (all: Replay, lines: Map<string, Content>) => {
    const list = sel.locale !== undefined ? [lines.get(sel.locale)].filter((c): c is Content => !!c) : [...lines.values()];
    return list.sort((a, b) => (a.line === all.origin ? -1 : b.line === all.origin ? 1 : a.line.localeCompare(b.line)));
  };
  if (sel.seq !== undefined) {
    const at = scope.find(({ part }) => part.some((x) => x.seq === sel.seq));
    const e = at?.part.find((x) => x.seq === sel.seq);
    if (!at || !e) throw new HeraldError('not_found', `Event ${sel.seq} is not part of the history of ${what}${within}.`, { errors: { seq: ['is not an event of this entity'] } });
    if (e.partial) throw invalid('seq', `event ${sel.seq} carried a concise payload, without the content to restore`);
    return { origin_line: replay(at.part).origin, lines: [contentOf(e)] };
  }
  if (sel.version !== undefined) {
    const found = scope.map(({ n, part }) => {
      const origin = replay(part).origin;
      const line = module === 'entry' ? (sel.locale ?? origin) : '';
      const ofLine = part.filter((e) => e.line === line && !e.partial && e.action !== 'delete');
      return { n, origin, line, ofLine, match: ofLine.filter((e) => e.version === sel.version).pop() };
    });
    const holding = found.filter((f) => f.match);
    if (holding.length > 1) {
      throw new HeraldError(
        'validation_failed',
        `Version ${sel.version} of ${what} is in ${holding.length} of the entities made one after another under its uid: ${holding.map((f) => `${label(f.n)}, its event ${f.match!.seq}`).join('; ')}. Name one: incarnation (--incarnation N), or the event (seq, --seq S).`,
        { errors: { incarnation: [`is required: several incarnations of this ${module.replace('_', ' ')} had version ${sel.version}`] } },
      );
    }
    const hit = holding[0];
    if (!hit) {
      const versions = (f: (typeof found)[number]) => [...new Set(f.ofLine.map((e) => e.version))].filter((v) => v !== null).sort((a, b) => a! - b!).join(', ') || 'none';
      const line = found.length === 1 && found[0]!.line ? ` in ${found[0]!.line}` : '';
      const held = found.length === 1 ? versions(found[0]!) : found.map((f) => `${versions(f)} in incarnation ${f.n}${f.line ? ` (${f.line})` : ''}`).join('; ');
      throw new HeraldError('not_found', `The backup holds no version ${sel.version} of ${what}${line}${within} (it holds ${held}).`, {
        errors: { version: [`is not a version of this ${module}`] },
      });
    }
    return { origin_line: hit.origin, lines: [contentOf(hit.match!)] };
  }
  if (sel.before !== undefined) {
    // The entity the uid named at that time: the last one made before it.
    const earlier = scope.flatMap(({ part }) => part).filter((e) => e.created_at < sel.before!);
    const then = replay(incarnations(earlier).at(-1) ?? []);
    const lines = pick(then, then.live);
    if (lines.length === 0) {
      throw new HeraldError('not_found', `${what}${sel.locale ? ` (${sel.locale})` : ''}${within} did not exist just before ${iso(sel.before)} (not created yet, or deleted).`, {
        errors: { before: ['is a time when the entity did not exist'] },
      });
    }
    return { origin_line: then.origin, lines };
  }
  const all = replay(scope[scope.length - 1]!.part);
  const lines = sel.locale !== undefined ? pick(all, all.last) : pick(all, all.live.size ? all.live : all.beforeDeletion.size ? all.beforeDeletion : all.last);
  if (lines.length === 0) {
    throw new HeraldError('not_found', `The backup holds no content of ${what}${sel.locale ? ` in ${sel.locale}` : ''}${within}.`, sel.locale ? { errors: { locale: ['has no content'] } } : {});
  }
  return { origin_line: all.origin, lines };
}

/** A publication the entity has now: published to `environment` in `locale` at `version`. */
export interface Publication {
  environment: string;
  locale: string;
  version: number | null;
}

/**
 * Where a live entity is published now, by replaying publish and unpublish events. Deleting a
 * line unpublishes that locale; deleting the entity, everything.
 */
export function publications(events: BackupEvent[]): Publication[] {
  const pubs = new Map<string, Publication>();
  let summary: EntitySummary | undefined;
  for (const e of sortBySeq(events)) {
    const before = summary;
    summary = applyEvent(summary, e);
    if (e.action === 'publish' && e.environment && e.locale) {
      pubs.set(`${e.environment}\u0000${e.locale}`, { environment: e.environment, locale: e.locale, version: e.version });
    } else if (e.action === 'unpublish' && e.environment && e.locale) {
      pubs.delete(`${e.environment}\u0000${e.locale}`);
    } else if (e.action === 'delete') {
      if (summary.deleted) pubs.clear();
      else for (const [k, p] of pubs) if (p.locale === e.line && before?.lines[e.line] === 'live') pubs.delete(k);
    }
  }
  return [...pubs.values()];
}

/**
 * Whether the entity is archived now (an entry or an asset): the last `archive` or `unarchive` event
 * of the entity the uid names now (its last incarnation) is an archive. An archived one is unpublished
 * (Herald refuses to archive a published one).
 */
export function archivedNow(events: BackupEvent[]): boolean {
  // Of the entity the uid names now: an earlier one's archive went with its deletion.
  const last = (incarnations(events).at(-1) ?? []).filter((e) => e.action === 'archive' || e.action === 'unarchive').at(-1);
  return last?.action === 'archive';
}

/** A publish or unpublish scheduled for later, as a restore schedules it again. */
export type Scheduled = ScheduledOne | ScheduledBulk;

/** Of one entry or asset. */
export interface ScheduledOne {
  type: 'entry' | 'asset';
  uid: string;
  /** Entries: their content type. */
  content_type_uid?: string;
  action: 'publish' | 'unpublish';
  /** Environment names and locale codes, as the publish queue lists them. */
  environments: string[];
  locales: string[];
  /** ISO 8601. */
  scheduled_at: string;
  /** The token that scheduled it at the source (the queue's `created_by`), when the queue named it. */
  created_by?: string;
}

/** A bulk job (`uid`: its job id at the source): its items as its request named them, without versions. */
export interface ScheduledBulk {
  type: 'bulk';
  uid: string;
  action: 'publish' | 'unpublish';
  entries: Array<{ uid: string; content_type_uid: string; locale?: string }>;
  assets: Array<{ uid: string; locale?: string }>;
  environments: string[];
  /** Empty: each item's own locale (the request named none). */
  locales: string[];
  scheduled_at: string;
  /** As ScheduledOne's. */
  created_by?: string;
}

/** A bulk queue item's `entries` and `assets`, without versions (listed apart); undefined when the queue gave none, or unreadable ones. */
function bulkItems(q: Record<string, any>): { entries: ScheduledBulk['entries']; assets: ScheduledBulk['assets']; versions: Array<{ type: 'entry' | 'asset'; uid: string; version: number }> } | undefined {
  if (!Array.isArray(q.entries) || !Array.isArray(q.assets)) return undefined;
  const versions: Array<{ type: 'entry' | 'asset'; uid: string; version: number }> = [];
  const line = (i: Record<string, any>) => (typeof i.locale === 'string' ? { locale: i.locale } : {});
  const entries: ScheduledBulk['entries'] = [];
  for (const e of q.entries as Array<Record<string, any>>) {
    if (typeof e?.uid !== 'string' || typeof e.content_type_uid !== 'string') return undefined;
    entries.push({ uid: e.uid, content_type_uid: e.content_type_uid, ...line(e) });
    if (typeof e.version === 'number') versions.push({ type: 'entry', uid: e.uid, version: e.version });
  }
  const assets: ScheduledBulk['assets'] = [];
  for (const a of q.assets as Array<Record<string, any>>) {
    if (typeof a?.uid !== 'string') return undefined;
    assets.push({ uid: a.uid, ...line(a) });
    if (typeof a.version === 'number') versions.push({ type: 'asset', uid: a.uid, version: a.version });
  }
  return { entries, assets, versions };
}

/**
 * Which items of a publish queue (`GET /v3/publish-queue`, as the backup read it at catch-up) a
 * restore at `now` (ms) schedules again: an entry's or asset's publish or unpublish still ahead, and
 * a bulk job still ahead with its items (`entries`, `assets`). The rest each get a warning, never a
 * publish: one already due (the source made it, or was to, before the restore: its publish is in the
 * history when the backup caught up since), a bulk job read from a Herald whose queue gave only its
 * number of items, an item the backup cannot read. A version a schedule named is dropped with a
 * warning (a restore numbers versions anew: it publishes the target's latest).
 */
export function schedulesToRestore(queue: unknown[], now: number): { later: Scheduled[]; warnings: string[] } {
  const later: Scheduled[] = [];
  const warnings: string[] = [];
  const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  for (const raw of queue) {
    const q = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, any>;
    const by = typeof q.created_by === 'string' && q.created_by !== '' ? { created_by: q.created_by as string } : {};
    const at = typeof q.scheduled_at === 'string' ? Date.parse(q.scheduled_at) : NaN;
    const action = q.action === 'publish' || q.action === 'unpublish' ? (q.action as 'publish' | 'unpublish') : undefined;
    const environments = strings(q.environments);
    const locales = strings(q.locales);
    if (q.type === 'bulk' && action && Number.isFinite(at) && environments && locales) {
      const what = `The scheduled bulk ${action} ${q.uid} of ${Number(q.items) || 0} items to ${environments.join(', ')} at ${q.scheduled_at}`;
      const bulk = bulkItems(q);
      if (!bulk) warnings.push(`${what} is not scheduled again: the publish queue the backup read does not list its items (Herald before they were listed). Schedule it again by hand.`);
      else if (at <= now) warnings.push(`${what} was due before this restore: it is not made now. Make it by hand if it should be.`);
      else {
        for (const v of bulk.versions) warnings.push(`${what} named version ${v.version} of ${v.type} ${v.uid}; it is scheduled again for the target's latest version at its time (a restore numbers versions anew).`);
        later.push({ type: 'bulk', uid: String(q.uid), action, entries: bulk.entries, assets: bulk.assets, environments, locales, scheduled_at: q.scheduled_at, ...by });
      }
      continue;
    }
    const type = q.type === 'entry' || q.type === 'asset' ? (q.type as 'entry' | 'asset') : undefined;
    const uid = type ? q[type]?.uid : undefined;
    const ctUid = type === 'entry' ? q.entry?.content_type_uid : undefined;
    if (!type || !action || typeof uid !== 'string' || (type === 'entry' && typeof ctUid !== 'string') || !environments || !locales || !Number.isFinite(at)) {
      warnings.push(`A publish queue item the backup cannot read is not scheduled again: ${JSON.stringify(raw).slice(0, 300)}`);
      continue;
    }
    const what = `The scheduled ${action} of ${type} ${uid} to ${environments.join(', ')} (${locales.join(', ')}) at ${q.scheduled_at}`;
    if (at <= now) {
      warnings.push(`${what} was due before this restore: it is not made now. Make it by hand if it should be.`);
      continue;
    }
    // A restore numbers an entity's versions anew in the target: the source's version number would
    // name another content there, so the schedule publishes the latest, and says so.
    const version = q[type]?.version;
    if (typeof version === 'number') {
      warnings.push(`${what} named version ${version}; it is scheduled again for the target's latest version at its time (a restore numbers versions anew).`);
    }
    later.push({ type, uid, ...(type === 'entry' ? { content_type_uid: ctUid } : {}), action, environments, locales, scheduled_at: q.scheduled_at, ...by });
  }
  return { later, warnings };
}

/**
 * What makes two schedules the same schedule, whoever stored them: what (one entry or asset, by its
 * key in the target, or a bulk job's items, each with its locale), the action, the time (to the ms),
 * environments and locales (in any order). A version named is left out (a restore drops it). Two
 * equal schedules at the source are two: a restore counts them (alreadyScheduled).
 */
export function scheduleKey(s: Scheduled): string {
  const sorted = (xs: string[]) => [...xs].sort();
  const what =
    s.type === 'bulk'
      ? [sorted(s.entries.map((e) => `${e.content_type_uid}/${e.uid}@${e.locale ?? ''}`)), sorted(s.assets.map((a) => `${a.uid}@${a.locale ?? ''}`))]
      : [s.type === 'entry' ? `${s.content_type_uid}/${s.uid}` : s.uid];
  return JSON.stringify([s.type, s.action, Date.parse(s.scheduled_at), sorted(s.environments), sorted(s.locales), what]);
}

/**
 * The schedules a target's publish queue (`GET /v3/publish-queue`) already holds, by scheduleKey:
 * the uid each names in the target (a bulk job's: its job id), one per schedule. A restore run again
 * (or into a stack that kept its queue) matches its schedules against them instead of making each
 * twice. Items it cannot read match nothing.
 */
export function alreadyScheduled(targetQueue: unknown[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of schedulesToRestore(targetQueue, Number.NEGATIVE_INFINITY).later) {
    const key = scheduleKey(s);
    out.set(key, [...(out.get(key) ?? []), s.uid]);
  }
  return out;
}

/**
 * Where the backup holds a branch's history (`branches`: the stack's branches as the backup last
 * read them, `uid`, `source`, `created_at`): the branch itself, then the branch it was copied from
 * as it was at the copy (`until`, ms: events after it are not the branch's), then that one's source,
 * and so on to main. Making a branch records no events, so what a branch took from its source and
 * never changed is only in the source's history. A branch the list does not name (or a loop) ends it.
 */
export function branchLineage(branches: unknown[], branch: string): Array<{ branch: string; until: number }> {
  const byUid = new Map((branches as Array<Record<string, unknown>>).filter((b) => typeof b?.uid === 'string').map((b) => [b.uid as string, b]));
  const out = [{ branch, until: Number.POSITIVE_INFINITY }];
  let at = branch;
  while (at !== 'main') {
    const b = byUid.get(at);
    const made = typeof b?.created_at === 'string' ? Date.parse(b.created_at) : NaN;
    const source = typeof b?.source === 'string' && b.source !== '' ? b.source : undefined;
    if (!source || !Number.isFinite(made) || out.some((o) => o.branch === source)) break;
    out.push({ branch: source, until: Math.min(made, out[out.length - 1]!.until) });
    at = source;
  }
  return out;
}

/**
 * The 404 for entity `what` (module `module`) that a restore was asked to bring back on a branch
 * whose history (branchLineage) holds none of it: `heldFrom` gives, for a branch of the lineage,
 * when the backup's first event of it there was (undefined: none). One that a source branch made
 * after the branch was copied from it was never on the branch: the restore refuses it, naming the
 * source and both times, rather than write into the branch something it never had (a restore on the
 * source brings it back there).
 */
export function notOnBranch(module: Module, what: string, lineage: Array<{ branch: string; until: number }>, heldFrom: (branch: string) => number | undefined): HeraldError {
  const own = lineage[0]?.branch ?? 'main';
  const none = `The backup holds no history of ${what}${own === 'main' ? '' : ` on branch ${own}`}`;
  for (let i = 1; i < lineage.length; i++) {
    const { branch: source, until: copied } = lineage[i]!;
    const first = heldFrom(source);
    if (first === undefined || first <= copied) continue;
    return new HeraldError(
      'not_found',
      `${none}: it was made on branch ${source} at ${iso(first)}, after ${lineage[i - 1]!.branch} was copied from it at ${iso(copied)}, so ${own} never had it. A restore on ${source} brings it back there.`,
      { errors: { branch: [`never held this ${module.replace('_', ' ')}`] } },
    );
  }
  return new HeraldError('not_found', `${none}.`);
}

/**
 * An entity's events as the branch `segments[0].branch` has them: each branch of its lineage
 * (branchLineage, nearest first), with its events up to its cut. Content, archive and lines carry
 * through a copy (a branch copies its source's entries and assets, archived or not); publications
 * only where the copy took them: a Contentful environment made through the dialect
 * (`copiesPublications`: src/contentful/environments.ts copyPublications) takes those of its
 * source's environment (`environmentIdOf(source)`) as its own environment's (`environmentIdOf(branch)`),
 * a /v3 branch starts unpublished. So a source's publish and unpublish of an entry or asset are kept,
 * named after the branch's environment, only when every copy down to the branch took them and they
 * were to the source's own environment; others are left out. Oldest first.
 */
export function eventsOnBranch(segments: Array<{ branch: string; events: BackupEvent[] }>, copiesPublications: (branch: string) => boolean): BackupEvent[] {
  const out: BackupEvent[] = [];
  let carried = true;
  for (let k = 0; k < segments.length; k++) {
    const { branch, events } = segments[k]!;
    if (k > 0) carried &&= copiesPublications(segments[k - 1]!.branch);
    for (const e of events) {
      const published = (e.action === 'publish' || e.action === 'unpublish') && (e.module === 'entry' || e.module === 'asset') && e.environment !== null;
      if (k === 0 || !published) out.push(e);
      else if (carried && e.environment === environmentIdOf(branch)) out.push({ ...e, environment: environmentIdOf(segments[0]!.branch) });
    }
  }
  return sortBySeq(out);
}

import { readFile } from 'node:fs/promises';
import { environmentIdOf } from '../../contentful/entities.ts';
import { HeraldError } from '../../errors.ts';
import type { Blobs } from '../blobs.ts';
import type { BackupEvent, Module } from '../event.ts';
import { findEntity } from '../selection.ts';
import { alreadyScheduled, archivedNow, branchLineage, chooseContent, eventsOnBranch, notOnBranch, summarize, type EntitySummary, publications, scheduleKey, schedulesToRestore, type Choice, type Content, type Scheduled, type ScheduledBulk, type Selection } from '../history.ts';
import type { AssetFile, BackupStore, StackRow } from '../store.ts';
import { entryBody, entryRefs, schemaRefs, stripSchemaRefs, type Field, type RefMap } from './remap.ts';
import { activationFromHistory, ContentfulStateRestorer, type HistoryActivation } from './contentful.ts';
import type { Step } from './step.ts';
import type { Target } from './target.ts';

export type { Step } from './step.ts';

/**
 * Restoring from the backup into a Herald, through its public API (see docs/backup-format.md
 * "Restore").
 *
 * One entity: its content (chosen by `chooseContent`) is saved over the entity when it exists in
 * the target (a new version), or recreated when it does not. What it needs comes first: an
 * entry's content type, the entries and assets it references, the locales of its lines; each is
 * found in the target (by the uid map, then by its own uid) or else recreated from the backup as
 * it last was. A recreated entry or asset keeps its uid when the target has it free
 * (makeKeepingUid); one that gets a new uid is a warning, the uid map records it, and references
 * are rewritten to it.
 *
 * References that loop (A refers to B refers to A, both gone) are broken for a moment: the one
 * reached second is saved without the reference, and saved again with it once the first exists.
 *
 * A whole stack: locales, environments, content types, assets (with their bytes), entries in every
 * locale, then publications, archives, and the publishes and unpublishes scheduled for later that are
 * still ahead (`reschedule`), skipping what the target already has.
 *
 * Either way, a branch other than main that the target lacks is made first (`ensureBranch`), and
 * the content types this restore made get the Contentful dialect's state of them (activation,
 * drafts, editor interfaces: restore/contentful.ts); a whole stack its tags too.
 */
export interface RestoreReport {
  source: { api_key: string; branch: string };
  target: { url: string; api_key: string; branch: string };
  steps: Step[];
  warnings: string[];
  /** `module:uid` in the backup (an entry's `entry:<content type>/<uid>`) -> uid in the target, where they differ. */
  uid_map: Record<string, string>;
}

/** An entity of the backup by its key: an entry's includes its content type (a uid may have been given again to another content type's entry). */
interface Ref {
  module: Module;
  uid: string;
  /** Entries: their content type; null otherwise. */
  ct: string | null;
}

/** Herald's own request header that chooses a created entry's or asset's uid (src/http/requested-uid.ts). */
const UID_HEADER = 'x-herald-uid';

function newUidWarning(module: 'entry' | 'asset', uid: string, t: string, why: string): string {
  return `${module} ${uid} was made again as ${t}, not under its own uid: ${why}. References to it that this restore brought back point at ${t}; a site or app that names ${uid} needs the new uid.`;
}

/** A reference to an entity that is being restored right now (a loop): resolved later. */
const PENDING = Symbol('pending');

/**
 * Most events a restore keeps of the histories it read (Restorer.histories), about tens of MB at a
 * few KB a version: below it every entity's history is read once per restore.
 */
const HISTORY_CACHE_EVENTS = 20_000;

type Resolved = string | null | typeof PENDING;

const enc = encodeURIComponent;

/** An entity a restore saves over, unarchived for the save when it was archived (Restorer.keepArchived). */
interface KeptArchive {
  archived: boolean;
  /** Runs a save; a failing one archives the entity again before its error goes on. */
  around(save: () => Promise<void>): Promise<void>;
  /** Archives it again (once; nothing when it was not archived). */
  again(): Promise<void>;
}
const NOT_ARCHIVED: KeptArchive = { archived: false, around: (save) => save(), again: async () => {} };

export class Restorer {
  private steps: Step[] = [];
  private warnings: string[] = [];
  private resolved = new Map<string, string | null>();
  /** Every key this restore named (keyOf), with the entity it names. */
  private refs = new Map<string, Ref>();
  private inProgress = new Set<string>();
  private ctFixups: Array<() => Promise<void>> = [];
  private entryFixups: Array<() => Promise<void>> = [];
  /** Assets and entries this restore created, dependencies first (the order to publish in). */
  private created: string[] = [];
  private schemas = new Map<string, { schema: Field[]; contentfulId?: string }>();
  private locales?: Set<string>;
  private environments?: Set<string>;
  /** Content types this restore made (Herald uid, Contentful id): they get their Contentful state. */
  private contentfulRestorer?: ContentfulStateRestorer;
  private madeTypes: Array<{ uid: string; id: string; dialect: boolean; history: HistoryActivation | undefined; draft: boolean }> = [];
  /** Schedules this restore made: the target's schedule uid (a bulk job's: its job id) and the token that scheduled it at the source. */
  private rescheduled: Array<{ uid: string; by?: string }> = [];
  /** Content types this restore made drafts (Herald uid -> Contentful id), whose entries it warns of once. */
  private draftTypes = new Map<string, string>();
  /**
   * Whether a referenced entity that was deleted at the source is recreated: yes when one entity
   * is restored (it comes back with what it refers to); no for a whole stack, which reproduces
   * the stack as it is, deletions included.
   */
  private resurrect = true;
  private lineageCache?: Array<{ branch: string; until: number }>;
  /** The backup's row of the stack restored from, read once per restore (stackRow). */
  private stackCache?: StackRow | null;
  /**
   * Each entity's history for this restore (history()), by module, content type and uid: a restore
   * asks for one entity's several times (to list it, to find it, to choose its content, its file,
   * its archive, its publications), and with a lineage each ask was a read per branch. Read once;
   * the oldest dropped past HISTORY_CACHE_EVENTS events, to bound a whole-stack restore's memory
   * (one dropped is read again when asked for).
   */
  private histories = new Map<string, { branch: string; events: BackupEvent[] } | undefined>();
  private historyEvents = 0;

  constructor(
    private readonly store: BackupStore,
    private readonly blobs: Blobs,
    private readonly target: Target,
    /** The stack and branch in the backup to restore from. */
    private readonly from: { api_key: string; branch: string },
  ) {}

  /**
   * Brings back one entity (see `chooseContent` for which content `sel` picks). An entry is named by
   * uid and, where the backup holds entries of several content types under that uid, `contentTypeUid`
   * (else a 422 naming `field`, the caller's name for it: findEntity).
   */
  async restoreEntity(module: Module, uid: string, sel: Selection = {}, contentTypeUid?: string, field = 'content_type_uid'): Promise<RestoreReport> {
    let ct: string | null = null;
    if (module === 'entry') {
      // An entry the branch took from its source and never changed is in the source's history.
      let entity: EntitySummary | undefined;
      for (const { branch } of this.lineage()) if ((entity = findEntity(this.store, this.from.api_key, branch, module, uid, contentTypeUid, field))) break;
      if (!entity?.content_type_uid) throw new HeraldError('not_found', `The backup holds no history of entry ${uid}${contentTypeUid ? ` of content type ${contentTypeUid}` : ''}.`);
      ct = entity.content_type_uid;
    }
    // Before the branch is made: a restore that cannot bring the entity back writes nothing.
    const held = this.history(module, uid, ct);
    if (!held) {
      const what = module === 'entry' && contentTypeUid ? `entry ${uid} of content type ${contentTypeUid}` : `${module} ${uid}`;
      throw notOnBranch(module, what, this.lineage(), (branch) => {
        const events = this.store.eventsOf(this.from.api_key, branch, module, uid, ct);
        return events.length ? events.reduce((m, e) => Math.min(m, e.created_at), Infinity) : undefined;
      });
    }
    chooseContent(module, uid, held.events, sel);
    await this.ensureBranch();
    await this.bring(module, uid, ct, sel);
    await this.flush(this.entryFixups);
    await this.contentful().contentTypes(this.madeTypes);
    return this.report();
  }

  /** Restores every live entity of the backup's stack and branch that the target lacks. */
  async restoreStack(): Promise<RestoreReport> {
    const stack = this.stackRow();
    if (!stack) throw new HeraldError('not_found', `The backup holds no stack ${this.from.api_key}.`);
    this.resurrect = false;
    await this.ensureBranch();
    const codes = stack.locales ? (stack.locales as Array<{ code: string }>).map((l) => l.code) : this.store.knownLocales(this.from.api_key, this.from.branch);
    for (const code of codes) await this.ensureLocale(code);
    const envs = stack.environments ? (stack.environments as Array<{ name: string }>).map((e) => e.name) : this.store.knownEnvironments(this.from.api_key);
    for (const name of envs) await this.ensureEnvironment(name);
    for (const module of ['content_type', 'asset', 'entry'] as const) {
      for (const e of this.allEntities(module)) {
        if (e.deleted) continue;
        const ct = module === 'entry' ? e.content_type_uid : null;
        const key = this.keyOf(module, e.uid, ct);
        const t = await this.ensure(module, e.uid, ct);
        if (typeof t === 'string' && !this.created.includes(key) && (module === 'entry' || !this.steps.some((s) => s.module === module && s.uid === e.uid))) {
          this.steps.push({ module, uid: e.uid, target_uid: t, action: 'exists' });
        }
      }
      // Before any entry: a draft the dialect could not make (makeDraft) is made by activating and
      // deactivating, refused once it has entries.
      if (module === 'content_type') await this.contentful().contentTypes(this.madeTypes.splice(0));
    }
    await this.contentful().tags();
    await this.flush(this.entryFixups);
    for (const key of this.created) await this.republish(key);
    for (const key of this.created) await this.rearchive(key);
    await this.reschedule();
    return this.report();
  }

  /**
   * The Contentful dialect's state of the backup's branch, as last read at catch-up (none: nothing to
   * bring); read from the store once per restore.
   */
  private contentful(): ContentfulStateRestorer {
    if (!this.contentfulRestorer) {
      const state = this.store.contentful(this.from.api_key, this.from.branch) ?? { content_types: [], activated_content_types: [], editor_interfaces: [], tags: [] };
      this.contentfulRestorer = new ContentfulStateRestorer({ target: this.target, state, environmentId: environmentIdOf(this.target.o.branch), steps: this.steps, warnings: this.warnings });
    }
    return this.contentfulRestorer;
  }

  /** The backup's row of the stack restored from (undefined: it holds none), as it was when this restore first asked. */
  private stackRow(): StackRow | undefined {
    if (this.stackCache === undefined) this.stackCache = this.store.stack(this.from.api_key) ?? null;
    return this.stackCache ?? undefined;
  }

  /** branchLineage of the branch restored from, as the backup last read the branches. */
  private lineage(): Array<{ branch: string; until: number }> {
    this.lineageCache ??= branchLineage(this.stackRow()?.branches ?? [], this.from.branch);
    return this.lineageCache;
  }

  /**
   * An entity's history for this restore: its events in the branch restored from and, before them,
   * in the branch it was copied from up to the copy, and so on (branchLineage; eventsOnBranch says
   * which publications a copy took). `branch`: the nearest branch with events of it. Undefined when
   * the lineage holds none.
   */
  private history(module: Module, uid: string, ct: string | null): { branch: string; events: BackupEvent[] } | undefined {
    const key = `${module}\u0000${ct ?? ''}\u0000${uid}`;
    if (this.histories.has(key)) return this.histories.get(key);
    const held = this.readHistory(module, uid, ct);
    this.histories.set(key, held);
    this.historyEvents += held?.events.length ?? 0;
    for (const [k, h] of this.histories) {
      if (this.historyEvents <= HISTORY_CACHE_EVENTS || k === key) break;
      this.histories.delete(k);
      this.historyEvents -= h?.events.length ?? 0;
    }
    return held;
  }

  private readHistory(module: Module, uid: string, ct: string | null): { branch: string; events: BackupEvent[] } | undefined {
    const segments = this.lineage().map(({ branch, until }) => ({ branch, events: this.store.eventsOf(this.from.api_key, branch, module, uid, ct).filter((e) => e.created_at <= until) }));
    const nearest = segments.find((s) => s.events.length > 0);
    if (!nearest) return undefined;
    return { branch: nearest.branch, events: segments.length === 1 ? nearest.events : eventsOnBranch(segments, (b) => this.copiedPublications(b)) };
  }

  /**
   * The Contentful name of branch `branch` at the source, as the backup last read the environments,
   * where it differs from its id (undefined: named after its id).
   */
  private contentfulName(branch: string): string | undefined {
    const environment = ((this.stackRow()?.contentful_environments ?? []) as Array<{ name?: string; sys?: { id?: string } }>).find((e) => e.sys?.id === environmentIdOf(branch));
    return environment?.name && environment.name !== environment.sys?.id ? environment.name : undefined;
  }

  /**
   * Whether branch `branch`'s copy took its source's publications at the source: it was made (and
   * is made again: ensureBranch) as a Contentful environment, not as a /v3 branch. The source's own
   * record (GET /v3/herald/branches, `publications_copied`) says so; where it does not (a source
   * older than store 028, a branch made before it, a backup not caught up since), a Contentful name
   * other than the id does, as the only sign such a source leaves: an environment made through the
   * dialect under its own id then looks like a /v3 branch.
   */
  private copiedPublications(branch: string): boolean {
    const origin = ((this.stackRow()?.branch_origins ?? []) as Array<{ uid?: string; publications_copied?: boolean | null }>).find((o) => o.uid === branch);
    if (typeof origin?.publications_copied === 'boolean') return origin.publications_copied;
    return this.contentfulName(branch) !== undefined;
  }

  private eventsOf(module: Module, uid: string, ct: string | null): BackupEvent[] {
    return this.history(module, uid, ct)?.events ?? [];
  }

  /**
   * Every entity of the branch restored from: those it took from its sources and never changed
   * (history), then its own; oldest source first, so the target makes them in about the order the
   * source did.
   */
  private allEntities(module: Module): EntitySummary[] {
    const lineage = this.lineage();
    if (lineage.length === 1) return this.store.allEntities(this.from.api_key, this.from.branch, module);
    const seen = new Set<string>();
    const out: EntitySummary[] = [];
    for (const { branch } of [...lineage].reverse()) {
      for (const e of this.store.allEntities(this.from.api_key, branch, module)) {
        const ct = module === 'entry' ? e.content_type_uid : null;
        const key = this.keyOf(module, e.uid, ct);
        if (seen.has(key)) continue;
        seen.add(key);
        // The nearest branch that holds events of it up to its copy says what it is.
        const s = summarize(this.history(module, e.uid, ct)?.events ?? []);
        if (s) out.push(s);
      }
    }
    return out;
  }

  private report(): RestoreReport {
    const uid_map: Record<string, string> = {};
    for (const [key, t] of this.resolved) if (t && t !== this.refs.get(key)!.uid) uid_map[key] = t;
    return {
      source: { ...this.from },
      target: { url: this.target.o.url, api_key: this.target.o.api_key, branch: this.target.o.branch },
      steps: this.steps,
      warnings: this.warnings,
      uid_map,
    };
  }

  private async flush(fixups: Array<() => Promise<void>>) {
    while (fixups.length) await fixups.shift()!();
  }

  // -------------------------------------------------------------------------------------------
  // Finding entities in the target

  private path(module: Module, uid: string, ctUid?: string): string {
    if (module === 'content_type') return `/v3/content_types/${enc(uid)}`;
    if (module === 'asset') return `/v3/assets/${enc(uid)}`;
    return `/v3/content_types/${enc(ctUid ?? '')}/entries/${enc(uid)}`;
  }

  /** This restore's name for an entity of the backup (its key): `module:uid`, an entry's `entry:<content type>/<uid>`. */
  private keyOf(module: Module, uid: string, ct: string | null): string {
    const key = module === 'entry' ? `entry:${ct}/${uid}` : `${module}:${uid}`;
    if (!this.refs.has(key)) this.refs.set(key, { module, uid, ct: module === 'entry' ? ct : null });
    return key;
  }

  /** The entity's uid in the target, if it is there: the mapped uid first, then its own. */
  private async locate(module: Module, uid: string, ctUid: string | null = null): Promise<string | undefined> {
    const mapped = module === 'content_type' ? undefined : this.store.mappedUid(this.target.key, module, uid, ctUid);
    for (const c of [...new Set([mapped, uid])]) {
      if (c && (await this.target.exists(this.path(module, c, ctUid ?? undefined)))) return c;
    }
    return undefined;
  }

  /** The target uid of something referenced (an entry with its content type `ctUid`): found, recreated from the backup, or null (left out). */
  private async ensure(module: Module, uid: string, ctUid: string | null = null): Promise<Resolved> {
    const key = this.keyOf(module, uid, ctUid);
    const what = module === 'entry' ? `entry ${uid} of content type ${ctUid}` : `${module} ${uid}`;
    if (this.resolved.has(key)) return this.resolved.get(key)!;
    if (this.inProgress.has(key)) return PENDING;
    const found = await this.locate(module, uid, ctUid);
    if (found) {
      this.resolved.set(key, found);
      return found;
    }
    const held = this.history(module, uid, ctUid);
    const entity = held && summarize(held.events);
    if (!entity) {
      this.warnings.push(`${what} is referenced but is neither in the target nor in the backup: the reference is left out.`);
      this.resolved.set(key, null);
      return null;
    }
    if (entity.deleted && !this.resurrect) {
      this.warnings.push(`${what} is referenced but was deleted at the source: the reference is left out.`);
      this.resolved.set(key, null);
      return null;
    }
    return this.bring(module, uid, ctUid, {});
  }

  /** Saves the chosen content of one entity (an entry of content type `ctUid`) in the target; returns its target uid. */
  private async bring(module: Module, uid: string, ctUid: string | null, sel: Selection): Promise<string> {
    const key = this.keyOf(module, uid, ctUid);
    this.inProgress.add(key);
    let t: string;
    try {
      const choice = chooseContent(module, uid, this.eventsOf(module, uid, ctUid), sel);
      if (module === 'content_type') t = await this.bringContentType(uid, choice.lines[0]);
      else if (module === 'asset') t = await this.bringAsset(uid, choice.lines[0]);
      else t = await this.bringEntry(uid, ctUid!, choice);
      this.resolved.set(key, t);
    } finally {
      this.inProgress.delete(key);
    }
    if (module === 'content_type' && ![...this.inProgress].some((k) => k.startsWith('content_type:'))) await this.flush(this.ctFixups);
    return t;
  }

  private remember(module: Module, uid: string, ctUid: string | null, targetUid: string) {
    if (module !== 'content_type') this.store.mapUid(this.target.key, module, uid, ctUid, targetUid);
  }

  // -------------------------------------------------------------------------------------------
  // Content types

  private async bringContentType(uid: string, c: Content): Promise<string> {
    const doc = c.doc as { title?: string; description?: string; schema?: Field[]; options?: Record<string, unknown> };
    const schema = doc.schema ?? [];
    const later = new Set<string>();
    const dropped = new Set<string>();
    for (const r of schemaRefs(schema)) {
      if (r === uid) continue;
      const t = await this.ensure('content_type', r);
      if (t === PENDING) later.add(r);
      else if (t === null) dropped.add(r);
    }
    const body = (s: Field[]) => ({ title: doc.title, description: doc.description ?? '', schema: s, options: doc.options ?? {} });
    const first = stripSchemaRefs(schema, new Set([...later, ...dropped]));
    const exists = await this.locate('content_type', uid);
    if (exists) {
      await this.target.send('PUT', this.path('content_type', uid), { content_type: body(first) });
      this.steps.push({ module: 'content_type', uid, target_uid: uid, action: 'updated', version: c.version, seq: c.seq });
    } else {
      // The dialect writes options.contentful into every content type it makes or changes.
      const meta = doc.options?.contentful as { id?: unknown } | undefined;
      const dialect = typeof meta === 'object' && meta !== null;
      const id = typeof meta?.id === 'string' ? meta.id : uid;
      const history = activationFromHistory(this.eventsOf('content_type', uid, null), dialect);
      // A draft at the source is made a draft, not activated and deactivated (content type webhooks would hear both).
      const draft = dialect && this.contentful().isDraft(id, history) && (await this.contentful().makeDraft(uid, id, { uid, ...body(first) }));
      if (!draft) await this.target.send('POST', '/v3/content_types', { content_type: { uid, ...body(first) } });
      else this.draftTypes.set(uid, id);
      this.madeTypes.push({ uid, id, dialect, history, draft });
      this.steps.push({ module: 'content_type', uid, target_uid: uid, action: 'created', version: c.version, seq: c.seq });
    }
    this.schemas.delete(uid);
    if (later.size) {
      this.ctFixups.push(async () => {
        await this.target.send('PUT', this.path('content_type', uid), { content_type: body(stripSchemaRefs(schema, dropped)) });
        this.schemas.delete(uid);
      });
    }
    return uid;
  }

  /** The target content type's schema (what entry saves are checked against). */
  private async schemaOf(ctUid: string): Promise<Field[]> {
    return (await this.typeOf(ctUid)).schema;
  }

  /** The target content type's schema and, for one the Contentful dialect made or changed, its Contentful id. */
  private async typeOf(ctUid: string): Promise<{ schema: Field[]; contentfulId?: string }> {
    let t = this.schemas.get(ctUid);
    if (!t) {
      const ct = (await this.target.send('GET', this.path('content_type', ctUid)))?.content_type;
      const meta = ct?.options?.contentful as { id?: unknown } | undefined;
      const dialect = typeof meta === 'object' && meta !== null;
      t = { schema: (ct?.schema ?? []) as Field[], ...(dialect ? { contentfulId: typeof meta.id === 'string' ? meta.id : ctUid } : {}) };
      this.schemas.set(ctUid, t);
    }
    return t;
  }

  /**
   * Saves one entry line (`line`: its locale) through /v3: made when `targetUid` is undefined, else
   * saved over; its target uid. A draft of a Contentful content type may leave required fields empty
   * (Contentful checks them at publish), which /v3 refuses (422) and the dialect keeps: such a line is
   * saved through the dialect (ContentfulStateRestorer.saveEntryLine). When the dialect refuses too,
   * /v3's refusal stands.
   */
  private async saveLine(ctUid: string, targetUid: string | undefined, line: string, body: Record<string, unknown>, wanted?: string): Promise<string> {
    const locale = line ? `?locale=${enc(line)}` : '';
    try {
      if (targetUid === undefined) {
        return await this.makeKeepingUid('entry', wanted, async (headers) => String((await this.target.send('POST', `/v3/content_types/${enc(ctUid)}/entries${locale}`, { entry: body }, { headers }))?.entry?.uid));
      }
      await this.target.send('PUT', `${this.path('entry', targetUid, ctUid)}${locale}`, { entry: body });
      return targetUid;
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code !== 'validation_failed') throw err;
      const { schema, contentfulId } = await this.typeOf(ctUid);
      if (contentfulId === undefined) throw err;
      const saved =
        targetUid === undefined
          ? await this.makeKeepingUid('entry', wanted, (headers) => this.contentful().saveEntryLine(contentfulId, undefined, line, schema, body, headers[UID_HEADER]))
          : await this.contentful().saveEntryLine(contentfulId, targetUid, line, schema, body);
      if (saved === undefined) throw err;
      return saved;
    }
  }

  /**
   * Makes an entry or asset the target lacks under `wanted`, its uid in the backup, when that is
   * free there: sites hard-code ids (Contentful's `getEntry('...')`, Contentstack's
   * `Entry('blt...')`), so a restore that changed them would break them. `make` sends the create
   * with `headers` (Herald's x-herald-uid; the dialect's create-with-id reads it as the id). Taken in
   * the target (409) or refused (422 naming the header), it is made again without, under the uid the
   * target gives, with a warning naming both; references to it are rewritten (the uid map). A target
   * that ignores the header (an older Herald) gives a new uid: the same warning. Events and webhooks
   * are those of any create.
   */
  private async makeKeepingUid<T extends string | undefined>(module: 'entry' | 'asset', wanted: string | undefined, make: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    if (wanted === undefined) return make({});
    let why: string;
    try {
      const t = await make({ [UID_HEADER]: wanted });
      if (t === undefined || t === wanted) return t;
      why = `the target did not take ${UID_HEADER}`;
      this.warnings.push(newUidWarning(module, wanted, t, why));
      return t;
    } catch (err) {
      if (!(err instanceof HeraldError) || !(err.code === 'conflict' || (err.code === 'validation_failed' && err.errors?.[UID_HEADER]))) throw err;
      why = err.code === 'conflict' ? `its uid is taken there` : `the target refused the uid (${err.message})`;
    }
    const t = await make({});
    if (t !== undefined) this.warnings.push(newUidWarning(module, wanted, t, why));
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // Assets

  /** The stored bytes of an asset version, of the asset the event at `seq` belongs to (a uid can name several, one after another). */
  private fileOf(uid: string, version: number | null, seq: number): AssetFile & { sha256: string } {
    // The event's own branch holds its file (a version the branch took from its source: the source's).
    const held = this.history('asset', uid, null);
    const branch = held?.events.find((e) => e.seq === seq)?.branch ?? held?.branch ?? this.from.branch;
    const f = version === null ? undefined : this.store.assetFile(this.from.api_key, branch, uid, version, { seq });
    if (!f || f.status !== 'stored' || !f.sha256) {
      throw new HeraldError('not_found', `The backup does not hold the file of asset ${uid} version ${version}${f?.problem ? ` (${f.problem})` : ''}, so it cannot be restored.`, {
        errors: { asset: ['file bytes not in the backup'] },
      });
    }
    return f as AssetFile & { sha256: string };
  }

  private async bringAsset(uid: string, c: Content): Promise<string> {
    const doc = c.doc as { title?: string; description?: string; tags?: string[]; filename?: string; content_type?: string };
    const file = this.fileOf(uid, c.version, c.seq);
    const bytes = await readFile(this.blobs.path(file.sha256));
    const form = new FormData();
    const type = doc.content_type ?? file.content_type ?? 'application/octet-stream';
    form.append('asset[upload]', new Blob([new Uint8Array(bytes)], { type }), doc.filename ?? file.filename ?? uid);
    if (typeof doc.title === 'string') form.append('asset[title]', doc.title);
    form.append('asset[description]', typeof doc.description === 'string' ? doc.description : '');
    form.append('asset[tags]', Array.isArray(doc.tags) ? doc.tags.join(',') : '');
    const existing = await this.locate('asset', uid);
    if (existing) {
      const archive = await this.keepArchived('asset', uid, existing);
      await archive.around(async () => {
        await this.target.send('PUT', this.path('asset', existing), form);
        this.steps.push({ module: 'asset', uid, target_uid: existing, action: 'updated', version: c.version, seq: c.seq });
      });
      await archive.again();
      return existing;
    }
    const t = await this.makeKeepingUid('asset', uid, async (headers) => String((await this.target.send('POST', '/v3/assets', form, { headers }))?.asset?.uid));
    this.remember('asset', uid, null, t);
    this.created.push(this.keyOf('asset', uid, null));
    this.steps.push({ module: 'asset', uid, target_uid: t, action: 'created', version: c.version, seq: c.seq });
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // Entries

  private async bringEntry(uid: string, ctUid: string, choice: Choice): Promise<string> {
    const ct = await this.ensure('content_type', ctUid);
    if (typeof ct !== 'string') {
      throw new HeraldError('not_found', `Entry ${uid} cannot be restored: its content type '${ctUid}' is neither in the target nor in the backup.`);
    }
    let targetUid = await this.locate('entry', uid, ctUid);
    const archive = targetUid === undefined ? NOT_ARCHIVED : await this.keepArchived('entry', uid, targetUid, ctUid);
    await archive.around(async () => {
      targetUid = await this.saveLines(uid, ctUid, targetUid, choice, archive);
    });
    // After the second saves that close reference loops (entryFixups run in order): /v3 refuses them once archived.
    if (archive.archived) this.entryFixups.push(() => archive.again());
    return targetUid!;
  }

  /** Saves each chosen line of entry `uid` (made when `targetUid` is undefined); its target uid. */
  private async saveLines(uid: string, ctUid: string, targetUid: string | undefined, choice: Choice, archive: KeptArchive): Promise<string> {
    for (const line of choice.lines) {
      if (line.line) await this.ensureLocale(line.line);
      const schema = await this.schemaOf(ctUid);
      let deferred = false;
      const map = await this.refMap(schema, line.doc, () => (deferred = true));
      if (!targetUid) {
        targetUid = await this.saveLine(ctUid, undefined, line.line, entryBody(schema, line.doc, map, { clear: false }), uid);
        this.remember('entry', uid, ctUid, targetUid);
        this.created.push(this.keyOf('entry', uid, ctUid));
        this.steps.push({ module: 'entry', uid, target_uid: targetUid, action: 'created', locale: line.line, version: line.version, seq: line.seq });
        const draftId = this.draftTypes.get(ctUid);
        if (draftId !== undefined) {
          // Once per content type: the entry is where the user asked, the type as at the source.
          this.draftTypes.delete(ctUid);
          this.warnings.push(
            `content type ${draftId} is a draft, as at the source, and this restore brought entries of it (${uid} first): the Contentful dialect saves and publishes them once the content type is activated (PUT .../content_types/${draftId}/published); /v3 does now.`,
          );
        }
      } else {
        await this.saveLine(ctUid, targetUid, line.line, entryBody(schema, line.doc, map, { clear: true }));
        this.steps.push({ module: 'entry', uid, target_uid: targetUid, action: 'updated', locale: line.line, version: line.version, seq: line.seq });
      }
      if (deferred) {
        const t = targetUid;
        this.entryFixups.push(() =>
          archive.around(async () => {
            const full = await this.refMap(schema, line.doc, () => {});
            await this.saveLine(ctUid, t, line.line, entryBody(schema, line.doc, full, { clear: true }));
          }),
        );
      }
    }
    return targetUid!;
  }

  /**
   * /v3 saves no content over an archived entry or asset (422 "is archived; unarchive it before
   * editing"). Restoring a version of one that is archived in the target unarchives it, saves, and
   * archives it again: the user gets the content back and the entity stays archived, as the target
   * had it (archived entities are never published, so no publication changes). Three kinds of
   * events: one unarchive, the saves, one archive. A save that fails still archives it again.
   */
  private async keepArchived(module: 'asset' | 'entry', uid: string, targetUid: string, ctUid?: string): Promise<KeptArchive> {
    const path = this.path(module, targetUid, ctUid);
    const body = await this.target.send('GET', path);
    if (body?.[module]?._archived !== true) return NOT_ARCHIVED;
    await this.target.send('POST', `${path}/unarchive`, {});
    this.steps.push({ module, uid, target_uid: targetUid, action: 'unarchived' });
    let done = false;
    const again = async () => {
      if (done) return;
      done = true;
      await this.target.send('POST', `${path}/archive`, {});
      this.steps.push({ module, uid, target_uid: targetUid, action: 'archived' });
    };
    return {
      archived: true,
      again,
      around: async (save) => {
        try {
          await save();
        } catch (err) {
          try {
            await again();
          } catch (second) {
            // Not silent: the save's refusal, and that the entity is now left unarchived.
            const e = err as Error;
            e.message = `${e.message} (and ${module} ${targetUid}, archived before this restore, could not be archived again: ${(second as Error).message})`;
          }
          throw err;
        }
      },
    };
  }

  /** Resolves every entry and asset `doc` refers to; `onPending` hears of a loop to close later. */
  private async refMap(schema: Field[], doc: Record<string, unknown>, onPending: () => void): Promise<RefMap> {
    const refs = entryRefs(schema, doc);
    const entries = new Map<string, string | null>();
    const assets = new Map<string, string | null>();
    for (const r of refs.entries) {
      const t = await this.ensure('entry', r.uid, r._content_type_uid);
      if (t === PENDING) onPending();
      entries.set(`${r._content_type_uid}/${r.uid}`, t === PENDING ? null : t);
    }
    for (const a of refs.assets) {
      const t = await this.ensure('asset', a);
      assets.set(a, t === PENDING ? null : t);
    }
    return { reference: (r) => entries.get(`${r._content_type_uid}/${r.uid}`) ?? null, asset: (u) => assets.get(u) ?? null };
  }

  // -------------------------------------------------------------------------------------------
  // The branch

  /**
   * Makes the target's branch when it lacks it, as the backup last read the backup's branch at
   * the source (`GET /v3/stacks/branches`, the Contentful dialect's environments and Herald's
   * `GET /v3/herald/branches`, at catch-up): a copy of its source branch (main when the target lacks
   * that one, or the backup never read it), with its Contentful name, made as it was made at the
   * source (copiedPublications): as a Contentful environment through the dialect (`PUT
   * /spaces/{space}/environments/{id}`, which also copies its source's publish state, as Contentful's
   * clone does), else through `/v3/stacks/branches`.
   * Its Contentful `sys.version` and `sys.updatedAt` are the target's own, starting anew, as a
   * recreated entry's `_version` does. A branch the target has is left as it is, its name too.
   */
  private async ensureBranch(): Promise<void> {
    const uid = this.target.o.branch;
    if (uid === 'main' || (await this.target.exists(`/v3/stacks/branches/${enc(uid)}`, { api: 'stack' }))) return;
    const stack = this.stackRow();
    const known = ((stack?.branches ?? []) as Array<{ uid?: string; source?: string }>).find((b) => b.uid === this.from.branch);
    let source = known?.source ?? 'main';
    if (!known) this.warnings.push(`The backup holds no record of branch ${this.from.branch} (branches are read at catch-up): branch ${uid} was made from main.`);
    else if (source !== 'main' && !(await this.target.exists(`/v3/stacks/branches/${enc(source)}`, { api: 'stack' }))) {
      this.warnings.push(`Branch ${uid} was made from main: its source branch ${source} is not in the target. What ${uid} took from ${source} is restored from the backup all the same.`);
      source = 'main';
    }
    const name = this.contentfulName(this.from.branch);
    if (this.copiedPublications(this.from.branch)) {
      // Unnamed (named after its id at the source): made unnamed, so named after its id in the target.
      await this.target.send('PUT', `/spaces/${enc(this.target.o.api_key)}/environments/${enc(uid)}`, name ? { name } : {}, { api: 'contentful', headers: { 'x-contentful-source-environment': environmentIdOf(source) } });
    } else {
      await this.target.send('POST', '/v3/stacks/branches', { branch: { uid, source } }, { api: 'stack' });
    }
    this.steps.push({ module: 'branch', uid: this.from.branch, target_uid: uid, action: 'created', ...(name ? { name } : {}) });
  }

  // -------------------------------------------------------------------------------------------
  // Locales, environments, publications

  private async ensureLocale(code: string, visiting = new Set<string>()): Promise<void> {
    if (!this.locales) {
      const body = await this.target.send('GET', '/v3/locales?limit=100');
      this.locales = new Set(((body?.locales ?? []) as Array<{ code: string }>).map((l) => l.code));
    }
    if (this.locales.has(code) || visiting.has(code)) return;
    visiting.add(code);
    const known = ((this.stackRow()?.locales ?? []) as Array<{ code: string; name?: string; fallback_locale?: string | null; contentful?: { optional?: unknown } }>).find(
      (l) => l.code === code,
    );
    const fallback = known?.fallback_locale && known.fallback_locale !== code ? known.fallback_locale : undefined;
    if (fallback) await this.ensureLocale(fallback, visiting);
    const fb = fallback && this.locales.has(fallback) ? fallback : undefined;
    const optional = known?.contentful?.optional;
    if (typeof optional === 'boolean') {
      // Contentful's `optional`, set through the dialect (the locale doc's `contentful` key), which /v3 does not take.
      const path = `/spaces/${enc(this.target.o.api_key)}/environments/${enc(environmentIdOf(this.target.o.branch))}/locales`;
      await this.target.send('POST', path, { code, name: known?.name ?? code, ...(fb ? { fallbackCode: fb } : {}), optional }, { api: 'contentful' });
    } else {
      await this.target.send('POST', '/v3/locales', { locale: { code, name: known?.name ?? code, ...(fb ? { fallback_locale: fb } : {}) } });
    }
    this.locales.add(code);
    this.steps.push({ module: 'locale', uid: code, target_uid: code, action: 'created' });
  }

  private async ensureEnvironment(name: string): Promise<void> {
    if (!this.environments) {
      const body = await this.target.send('GET', '/v3/environments?limit=100');
      this.environments = new Set(((body?.environments ?? []) as Array<{ name: string }>).map((e) => e.name));
    }
    if (this.environments.has(name)) return;
    const known = ((this.stackRow()?.environments ?? []) as Array<{ name: string; urls?: Array<{ locale: string; url: string }>; deploy_content?: boolean }>).find(
      (e) => e.name === name,
    );
    const urls = known?.urls ?? [];
    for (const u of urls) await this.ensureLocale(u.locale);
    await this.target.send('POST', '/v3/environments', { environment: { name, urls, deploy_content: known?.deploy_content === true } });
    this.environments.add(name);
    this.steps.push({ module: 'environment', uid: name, target_uid: name, action: 'created' });
  }

  /**
   * Archives a recreated entity the backup says is archived now (a whole-stack restore reproduces the
   * stack as it is: an archived entry or asset stays out of the Preview API and cannot be published).
   */
  private async rearchive(key: string): Promise<void> {
    const { module, uid, ct } = this.refs.get(key)!;
    const t = this.resolved.get(key);
    if (!t || !archivedNow(this.eventsOf(module, uid, ct))) return;
    try {
      await this.target.send('POST', `${this.path(module, t, ct ?? undefined)}/archive`, {});
      this.steps.push({ module, uid, target_uid: t, action: 'archived' });
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
      this.warnings.push(`${module} ${uid} is archived at the source but could not be archived: ${err.message}`);
    }
  }

  /**
   * Schedules again the publishes and unpublishes the source had scheduled for later, as the backup
   * last read its publish queue (schedulesToRestore says which; the others are warnings). The
   * target makes them as the restore's token, at their time (warnOfScheduler). No queue read (a backup older than
   * migration 005, or never caught up): a warning.
   */
  private async reschedule(): Promise<void> {
    const read = this.store.publishQueue(this.from.api_key, this.from.branch);
    if (!read) {
      this.warnings.push(`The backup never read the publish queue of branch ${this.from.branch} (it is read at catch-up): publishes and unpublishes scheduled at the source are not scheduled again.`);
      return;
    }
    const { later, warnings } = schedulesToRestore(read.queue, Date.now());
    this.warnings.push(...warnings);
    if (later.length === 0) return;
    const held = alreadyScheduled(await this.targetQueue());
    for (const s of later) {
      if (s.type === 'bulk') {
        await this.rescheduleBulk(s, held);
        continue;
      }
      const t = this.resolved.get(this.keyOf(s.type, s.uid, s.content_type_uid ?? null));
      if (!t) {
        this.warnings.push(`The scheduled ${s.action} of ${s.type} ${s.uid} at ${s.scheduled_at} is not scheduled again: the ${s.type} is not in the target.`);
        continue;
      }
      if (this.isScheduled(s, { ...s, uid: t }, held)) continue;
      try {
        for (const e of s.environments) await this.ensureEnvironment(e);
        for (const l of s.locales) await this.ensureLocale(l);
        const res = await this.target.send('POST', `${this.path(s.type, t, s.content_type_uid)}/${s.action}`, { [s.type]: { environments: s.environments, locales: s.locales }, scheduled_at: s.scheduled_at });
        this.scheduled(s, t, String(res?.scheduled?.uid));
      } catch (err) {
        if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
        this.warnings.push(`The scheduled ${s.action} of ${s.type} ${s.uid} at ${s.scheduled_at} could not be scheduled again: ${err.message}`);
      }
    }
    await this.warnOfScheduler();
  }

  /** The target branch's publish queue, every page (100, /v3's largest, at a time). */
  private async targetQueue(): Promise<unknown[]> {
    const out: unknown[] = [];
    for (;;) {
      const items = ((await this.target.send('GET', `/v3/publish-queue?limit=100&skip=${out.length}`))?.queue ?? []) as unknown[];
      out.push(...items);
      if (items.length < 100) return out;
    }
  }

  /**
   * Whether the target already holds schedule `s` (`inTarget`: it in the target's uids): a restore
   * run again, or into a stack that kept its queue, makes no schedule twice. A match is used up (two
   * equal schedules at the source need two in the target) and is the report's `already_scheduled`
   * step (its target_uid: the entry's or asset's, a bulk job's the target's job id).
   */
  private isScheduled(s: Scheduled, inTarget: Scheduled, held: Map<string, string[]>): boolean {
    const targetUid = held.get(scheduleKey(inTarget))?.shift();
    if (targetUid === undefined) return false;
    this.steps.push({
      module: s.type,
      uid: s.uid,
      target_uid: targetUid,
      action: 'already_scheduled',
      scheduled: s.action,
      environment: s.environments.join(', '),
      locale: s.locales.join(', '),
      scheduled_at: s.scheduled_at,
    });
    return true;
  }

  /**
   * A schedule (one entity's, or a bulk job's) made again in the target as `targetUid`, whose
   * schedule there is `scheduleUid`: its step in the report, and kept for warnOfScheduler.
   */
  private scheduled(s: Scheduled, targetUid: string, scheduleUid: string): void {
    this.rescheduled.push({ uid: scheduleUid, by: s.created_by });
    this.steps.push({
      module: s.type,
      uid: s.uid,
      target_uid: targetUid,
      action: 'scheduled',
      scheduled: s.action,
      environment: s.environments.join(', '),
      locale: s.locales.join(', '),
      scheduled_at: s.scheduled_at,
      ...(s.created_by ? { scheduled_by: s.created_by } : {}),
    });
  }

  /**
   * Herald makes a schedule, at its time, as the token that stored it (src/content/schedule.ts): the
   * ones this restore made run as the restore's token, and their events and log name it. A restore
   * acts as its own token only (the source's may belong to another stack, or be deleted), so where
   * that is not the token that scheduled them at the source, one warning names both; where it is
   * (the admin token, or the same token restoring into its own stack), the author is kept as it was.
   * The target's publish queue says which token it stored them as.
   */
  private async warnOfScheduler(): Promise<void> {
    if (this.rescheduled.length === 0) return;
    const storedAs = new Map<string, string>();
    try {
      for (let skip = 0; ; skip += 100) {
        const items = ((await this.target.send('GET', `/v3/publish-queue?limit=100&skip=${skip}`))?.queue ?? []) as Array<{ uid?: unknown; created_by?: unknown }>;
        for (const q of items) if (typeof q.uid === 'string' && typeof q.created_by === 'string') storedAs.set(q.uid, q.created_by);
        if (items.length < 100) break;
      }
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
    }
    const other = this.rescheduled.filter((r) => !r.by || storedAs.get(r.uid) !== r.by);
    if (other.length === 0) return;
    const as = [...new Set(other.map((r) => storedAs.get(r.uid)).filter((x): x is string => !!x))];
    const label = (uid: string | undefined) => {
      if (!uid) return 'a token the queue the backup read did not name';
      const name = this.store.actorName(this.from.api_key, uid);
      return name ? `${name} (${uid})` : uid;
    };
    const authors = [...new Set(other.map((r) => r.by))].map(label);
    this.warnings.push(
      `${other.length} of the ${this.rescheduled.length} publishes and unpublishes scheduled again will be made as this restore's token${as.length ? ` (${as.join(', ')})` : ''}, not as the token that scheduled them at the source (${authors.join(', ')}): Herald makes a schedule as the token that stored it, and a restore stores them as its own. Their events and the log will name this restore's token.`,
    );
  }

  /**
   * Schedules a bulk job again (`POST /v3/bulk/{action}` with its `scheduled_at`): its items as the
   * target names them; an item not in the target is left out with a warning each, and a job left
   * with none is not scheduled (a warning). The target gives it a new job id.
   */
  private async rescheduleBulk(s: ScheduledBulk, held: Map<string, string[]>): Promise<void> {
    const what = `the scheduled bulk ${s.action} ${s.uid} at ${s.scheduled_at}`;
    const What = `${what[0]!.toUpperCase()}${what.slice(1)}`;
    const entries: Array<{ uid: string; content_type: string; locale?: string }> = [];
    const assets: Array<{ uid: string; locale?: string }> = [];
    const missing = (type: string, uid: string) => this.warnings.push(`${type} ${uid} is left out of ${what}: it is not in the target.`);
    for (const e of s.entries) {
      const t = this.resolved.get(this.keyOf('entry', e.uid, e.content_type_uid));
      if (t) entries.push({ uid: t, content_type: e.content_type_uid, ...(e.locale ? { locale: e.locale } : {}) });
      else missing('entry', e.uid);
    }
    for (const a of s.assets) {
      const t = this.resolved.get(this.keyOf('asset', a.uid, null));
      if (t) assets.push({ uid: t, ...(a.locale ? { locale: a.locale } : {}) });
      else missing('asset', a.uid);
    }
    if (entries.length + assets.length === 0) {
      this.warnings.push(`${What} is not scheduled again: none of its items is in the target.`);
      return;
    }
    const inTarget: ScheduledBulk = { ...s, entries: entries.map(({ content_type, ...e }) => ({ ...e, content_type_uid: content_type })), assets };
    // Matched by its items, not its job id (the target gave it its own).
    if (this.isScheduled(s, inTarget, held)) return;
    try {
      for (const e of s.environments) await this.ensureEnvironment(e);
      for (const l of new Set([...s.locales, ...entries.flatMap((e) => (e.locale ? [e.locale] : [])), ...assets.flatMap((a) => (a.locale ? [a.locale] : []))])) await this.ensureLocale(l);
      const body = { entries, assets, environments: s.environments, ...(s.locales.length ? { locales: s.locales } : {}), scheduled_at: s.scheduled_at };
      const res = await this.target.send('POST', `/v3/bulk/${s.action}`, body);
      // A scheduled bulk job's id is its schedule's uid (src/content/schedule.ts scheduleBulk).
      this.scheduled(s, String(res?.job_id), String(res?.job_id));
    } catch (err) {
      if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
      this.warnings.push(`${What} could not be scheduled again: ${err.message}`);
    }
  }

  /** Publishes a recreated entity where the backup says it is published now. */
  private async republish(key: string): Promise<void> {
    const { module, uid, ct } = this.refs.get(key)!;
    const t = this.resolved.get(key);
    if (!t) return;
    // What the branch took from its source is published only where the copy took its publications (eventsOnBranch).
    const events = this.eventsOf(module, uid, ct);
    const ctUid = ct ?? undefined;
    for (const p of publications(events)) {
      try {
        await this.ensureEnvironment(p.environment);
        await this.ensureLocale(p.locale);
        await this.target.send('POST', `${this.path(module, t, ctUid)}/publish`, { [module]: { environments: [p.environment], locales: [p.locale] } });
        this.steps.push({ module, uid, target_uid: t, action: 'published', environment: p.environment, locale: p.locale });
      } catch (err) {
        if (!(err instanceof HeraldError) || err.code === 'unavailable') throw err;
        this.warnings.push(`${module} ${uid} could not be published to ${p.environment}/${p.locale}: ${err.message}`);
      }
    }
  }
}

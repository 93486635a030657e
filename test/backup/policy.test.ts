import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { deliveryVerifier } from '../../src/backup/auth.ts';
import { loadBackupConfig } from '../../src/backup/config.ts';
import { diff, NOISE_KEYS } from '../../src/backup/diff.ts';
import { fromDelivery, fromFeed, type BackupEvent } from '../../src/backup/event.ts';
import { fileFits, unconfirmedFileProblem } from '../../src/backup/files.ts';
import { alreadyScheduled, archivedNow, branchLineage, chooseContent, eventsOnBranch, historyMarks, incarnationOf, incarnations, notOnBranch, publications, remadeAt, scheduleKey, schedulesToRestore, summarize } from '../../src/backup/history.ts';
import { entryBody, entryRefs, schemaRefs, stripSchemaRefs, type Field } from '../../src/backup/restore/remap.ts';
import { parseSelection } from '../../src/backup/selection.ts';
import { HeraldError } from '../../src/errors.ts';
import { testSecret } from './helpers/backup.ts';

let nextSeq = 1;
/** An entry event as the feed gives it. */
function entryEvent(action: string, line: string, version: number, fields: Record<string, unknown> = {}, extra: Partial<BackupEvent> = {}): BackupEvent {
  const seq = extra.seq ?? nextSeq++;
  return fromFeed({
    seq,
    api_key: 'bltstack',
    branch: 'main',
    module: 'entry',
    action,
    uid: 'bltentry',
    content_type_uid: 'post',
    locale: extra.locale ?? line,
    environment: extra.environment ?? null,
    actor: 'bltactor',
    data: { entry: { uid: 'bltentry', locale: line, content_type_uid: 'post', tags: [], _version: version, ...fields }, content_type: { uid: 'post' } },
    created_at: extra.created_at ?? seq * 1000,
  });
}

describe('an entity state from its history', () => {
  it('reads a delete of the line an entry was created in as the whole entry going away', () => {
    const s = summarize([entryEvent('create', 'en-us', 1), entryEvent('update', 'fr-fr', 1), entryEvent('delete', 'en-us', 1)])!;
    assert.deepEqual(s.lines, { 'en-us': 'deleted', 'fr-fr': 'deleted' });
    assert.equal(s.deleted, true);
  });

  it('reads a delete of another line as that locale only', () => {
    const s = summarize([entryEvent('create', 'en-us', 1), entryEvent('update', 'fr-fr', 1), entryEvent('delete', 'fr-fr', 1)])!;
    assert.deepEqual(s.lines, { 'en-us': 'live', 'fr-fr': 'deleted' });
    assert.equal(s.deleted, false);
  });

  it('tells where the entity was made again under its uid once wholly deleted, and nowhere else', () => {
    nextSeq = 1;
    const events = [
      entryEvent('create', 'en-us', 1),
      entryEvent('update', 'fr-fr', 1),
      entryEvent('delete', 'fr-fr', 1),
      // A locale made again while the entry lives is no remaking.
      entryEvent('create', 'fr-fr', 1),
      entryEvent('delete', 'en-us', 1),
      entryEvent('create', 'en-us', 1),
    ];
    assert.deepEqual([...remadeAt([events[5], ...events.slice(0, 5)])], [6]);
    assert.deepEqual([...remadeAt(events.slice(0, 5))], []);
  });

  it('gives the same state whatever order the events arrived in', () => {
    const events = [entryEvent('create', 'en-us', 1, { title: 'A' }), entryEvent('update', 'en-us', 2, { title: 'B' }), entryEvent('update', 'fr-fr', 1, { title: 'C' })];
    assert.deepEqual(summarize([events[2], events[0], events[1]]), summarize(events));
    assert.equal(summarize(events)!.title, 'C');
  });
});

describe('choosing the content to restore', () => {
  const history = () => {
    nextSeq = 1;
    return [
      entryEvent('create', 'en-us', 1, { title: 'One' }),
      entryEvent('update', 'en-us', 2, { title: 'Two' }),
      entryEvent('update', 'fr-fr', 1, { title: 'Un' }),
      // Publishing version 1 again carries the old snapshot: it is not the line's content.
      entryEvent('publish', 'en-us', 1, { title: 'One' }, { environment: 'production', locale: 'en-us' }),
      entryEvent('update', 'en-us', 3, { title: 'Three' }),
      entryEvent('delete', 'en-us', 3, { title: 'Three' }),
    ];
  };
  const titles = (c: ReturnType<typeof chooseContent>) => c.lines.map((l) => `${l.line}:${l.doc.title}`);

  it('brings a deleted entry back as it was just before its deletion, origin line first', () => {
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history())), ['en-us:Three', 'fr-fr:Un']);
  });

  it('picks a version of the origin line, or of the locale given', () => {
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { version: 2 })), ['en-us:Two']);
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { version: 1, locale: 'fr-fr' })), ['fr-fr:Un']);
  });

  it('picks what every line held just before a time', () => {
    // Events are at seq * 1000 ms: before 3500 the entry had en-us version 2 and fr-fr version 1.
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { before: 3500 })), ['en-us:Two', 'fr-fr:Un']);
  });

  it('picks exactly one event', () => {
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { seq: 1 })), ['en-us:One']);
  });

  it('names what the history lacks', () => {
    assert.throws(
      () => chooseContent('entry', 'bltentry', history(), { version: 7 }),
      (e: HeraldError) => e.code === 'not_found' && /no version 7 .* in en-us \(it holds 1, 2, 3\)/.test(e.message),
    );
    assert.throws(() => chooseContent('entry', 'bltentry', history(), { before: 500 }), (e: HeraldError) => e.code === 'not_found' && 'before' in e.errors!);
    assert.throws(() => chooseContent('entry', 'bltnothing', []), (e: HeraldError) => e.code === 'not_found');
  });

  it('knows where a live entry is published now', () => {
    nextSeq = 1;
    const events = [
      entryEvent('create', 'en-us', 1),
      entryEvent('update', 'fr-fr', 1),
      entryEvent('publish', 'en-us', 1, {}, { environment: 'production', locale: 'en-us' }),
      entryEvent('publish', 'fr-fr', 1, {}, { environment: 'production', locale: 'fr-fr' }),
      entryEvent('publish', 'en-us', 1, {}, { environment: 'staging', locale: 'en-us' }),
      entryEvent('unpublish', 'en-us', 1, {}, { environment: 'staging', locale: 'en-us' }),
      entryEvent('delete', 'fr-fr', 1),
    ];
    assert.deepEqual(publications(events), [{ environment: 'production', locale: 'en-us', version: 1 }]);
  });

  it('knows whether a live entry is archived now, whatever order the events arrived in', () => {
    nextSeq = 1;
    const create = entryEvent('create', 'en-us', 1);
    const archive = entryEvent('archive', 'en-us', 1);
    const unarchive = entryEvent('unarchive', 'en-us', 1);
    const again = entryEvent('archive', 'fr-fr', 1);
    assert.equal(archivedNow([create]), false);
    assert.equal(archivedNow([create, archive]), true);
    assert.equal(archivedNow([unarchive, create, archive]), false, 'the unarchive came later');
    assert.equal(archivedNow([again, unarchive, archive, create]), true, 'archived again, in another locale line');
  });
});

describe('a uid that named several entities one after another (incarnations)', () => {
  // An entry made, changed, deleted; made again under its uid (in fr-fr first), changed, and changed in en-us.
  const history = () => {
    nextSeq = 1;
    return [
      entryEvent('create', 'en-us', 1, { title: 'Old one' }),
      entryEvent('update', 'en-us', 2, { title: 'Old two' }),
      entryEvent('archive', 'en-us', 2, { title: 'Old two' }),
      entryEvent('delete', 'en-us', 2, { title: 'Old two' }),
      entryEvent('create', 'fr-fr', 1, { title: 'Neuf un' }),
      entryEvent('update', 'fr-fr', 2, { title: 'Neuf deux' }),
      entryEvent('update', 'en-us', 1, { title: 'New one' }),
    ];
  };
  const titles = (c: ReturnType<typeof chooseContent>) => c.lines.map((l) => `${l.line}:${l.doc.title}`);

  it('splits the history at each remaking and numbers each event', () => {
    assert.deepEqual(incarnations(history()).map((p) => p.map((e) => e.seq)), [[1, 2, 3, 4], [5, 6, 7]]);
    assert.deepEqual([...incarnationOf(history()).values()], [1, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual(incarnations([]), []);
    // The backup server's pages read both marks from one replay, in any order the events come.
    const marks = historyMarks([...history()].reverse());
    assert.deepEqual([[...marks.remade], [...marks.incarnation]], [[5], [[1, 1], [2, 1], [3, 1], [4, 1], [5, 2], [6, 2], [7, 2]]]);
    assert.deepEqual(historyMarks([]), { remade: new Set(), incarnation: new Map() });
  });

  it("publishes a restored entity where the entity the uid names now is published, never where an earlier one was", () => {
    // A whole-stack restore (the one restore that publishes) brings back the last incarnation: the
    // first one's publications went with its deletion, in the backup as at the source.
    nextSeq = 1;
    const first = [
      entryEvent('create', 'en-us', 1, { title: 'Old one' }),
      entryEvent('publish', 'en-us', 1, {}, { environment: 'production' }),
      entryEvent('publish', 'en-us', 1, {}, { environment: 'staging' }),
      entryEvent('delete', 'en-us', 1),
    ];
    const second = [entryEvent('create', 'fr-fr', 1, { title: 'Neuf' }), entryEvent('publish', 'fr-fr', 1, {}, { environment: 'staging' })];
    assert.deepEqual(publications([...second, ...first]), [{ environment: 'staging', locale: 'fr-fr', version: 1 }]);
    assert.deepEqual(publications([...first, second[0]!]), []);
  });

  it("sums up the entity the uid names now: its lines, origin, title and events, and how many it named", () => {
    const s = summarize(history())!;
    assert.deepEqual([s.lines, s.origin_line, s.title, s.events, s.incarnations, s.deleted], [{ 'fr-fr': 'live', 'en-us': 'live' }, 'fr-fr', 'New one', 3, 2, false]);
    assert.equal(summarize(history().slice(0, 4))!.incarnations, 1);
  });

  it("picks a version within the named incarnation, each one's own origin line by default", () => {
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { version: 2, incarnation: 1 })), ['en-us:Old two']);
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { version: 2, incarnation: 2 })), ['fr-fr:Neuf deux']);
    assert.equal(chooseContent('entry', 'bltentry', history(), { version: 2, incarnation: 2 }).origin_line, 'fr-fr');
    // Only the first had version 2 of en-us: no need to name it.
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { version: 2, locale: 'en-us' })), ['en-us:Old two']);
  });

  it('refuses a version several incarnations had, naming each and how to choose', () => {
    assert.throws(
      () => chooseContent('entry', 'bltentry', history(), { version: 1, locale: 'en-us' }),
      (e: HeraldError) =>
        e.code === 'validation_failed' &&
        Object.keys(e.errors!).join() === 'incarnation' &&
        /^Version 1 of entry bltentry is in 2 of the entities made one after another under its uid: incarnation 1 \(made at seq 1, 1970-01-01T00:00:01.000Z; deleted at seq 4\), its event 1; incarnation 2 \(made at seq 5, 1970-01-01T00:00:05.000Z; live\), its event 7\. Name one: incarnation \(--incarnation N\), or the event \(seq, --seq S\)\.$/.test(e.message),
    );
  });

  it('names what an incarnation lacks, and an incarnation the history lacks', () => {
    assert.throws(
      () => chooseContent('entry', 'bltentry', history(), { version: 3, incarnation: 1 }),
      (e: HeraldError) => e.code === 'not_found' && /no version 3 of entry bltentry in en-us in incarnation 1 \(it holds 1, 2\)/.test(e.message),
    );
    assert.throws(
      () => chooseContent('entry', 'bltentry', history(), { version: 3 }),
      (e: HeraldError) => e.code === 'not_found' && /\(it holds 1, 2 in incarnation 1 \(en-us\); 1, 2 in incarnation 2 \(fr-fr\)\)/.test(e.message),
    );
    assert.throws(
      () => chooseContent('entry', 'bltentry', history(), { incarnation: 3 }),
      (e: HeraldError) => e.code === 'not_found' && 'incarnation' in e.errors! && /holds 2: incarnation 1 .*, incarnation 2 /.test(e.message),
    );
    assert.throws(() => chooseContent('entry', 'bltentry', history(), { seq: 5, incarnation: 1 }), (e: HeraldError) => e.code === 'not_found' && /Event 5 .* in incarnation 1/.test(e.message));
  });

  it('brings back the last incarnation by default, a named one as it was before its deletion, and the one of the time before', () => {
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history())), ['fr-fr:Neuf deux', 'en-us:New one']);
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { incarnation: 1 })), ['en-us:Old two']);
    // Events are at seq * 1000 ms: before 6500 the second had fr-fr version 2 only; before 4500, none was live.
    assert.deepEqual(titles(chooseContent('entry', 'bltentry', history(), { before: 6500 })), ['fr-fr:Neuf deux']);
    assert.throws(() => chooseContent('entry', 'bltentry', history(), { before: 4500 }), (e: HeraldError) => 'before' in e.errors!);
  });

  it("reads the archive of the entity the uid names now, not an earlier one's", () => {
    assert.equal(archivedNow(history()), false);
    assert.equal(archivedNow(history().slice(0, 3)), true);
  });

  it('reads incarnation from a form, a body or flags', () => {
    assert.deepEqual(parseSelection({ version: '2', incarnation: '1' }), { version: 2, incarnation: 1 });
    assert.throws(() => parseSelection({ incarnation: '0' }), (e: HeraldError) => 'incarnation' in e.errors!);
  });
});

describe('which scheduled publishes a restore schedules again', () => {
  it('schedules those still ahead, and warns of those already due, bulk jobs and unreadable items', () => {
    const now = Date.parse('2026-12-06T10:00:00.000Z');
    const entry = { uid: 'q1', type: 'entry', action: 'publish', entry: { uid: 'bltentry', content_type_uid: 'post' }, environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-07T10:00:00.000Z' };
    // created_by: the token that scheduled it, carried for the restore's report (its token makes it).
    const asset = { uid: 'q2', type: 'asset', action: 'unpublish', asset: { uid: 'bltasset' }, environments: ['production', 'staging'], locales: ['en-us'], scheduled_at: '2026-12-08T10:00:00.000Z', created_by: 'blttoken' };
    const due = { ...entry, uid: 'q3', scheduled_at: '2026-12-06T09:59:59.000Z' };
    const bulk = { uid: 'q4', type: 'bulk', action: 'publish', items: 3, environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-09T10:00:00.000Z' };
    const odd = { uid: 'q5', type: 'entry', action: 'publish', entry: { uid: 'bltentry' }, environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-09T10:00:00.000Z' };
    const { later, warnings } = schedulesToRestore([entry, asset, due, bulk, odd], now);
    assert.deepEqual(later, [
      { type: 'entry', uid: 'bltentry', content_type_uid: 'post', action: 'publish', environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-07T10:00:00.000Z' },
      { type: 'asset', uid: 'bltasset', action: 'unpublish', environments: ['production', 'staging'], locales: ['en-us'], scheduled_at: '2026-12-08T10:00:00.000Z', created_by: 'blttoken' },
    ]);
    assert.equal(warnings.length, 3);
    assert.match(warnings[0], /^The scheduled publish of entry bltentry to production \(en-us\) at 2026-12-06T09:59:59.000Z was due before this restore: it is not made now/);
    assert.match(warnings[1], /^The scheduled bulk publish q4 of 3 items to production at 2026-12-09T10:00:00.000Z is not scheduled again: the publish queue the backup read does not list its items/);
    assert.match(warnings[2], /^A publish queue item the backup cannot read/);
  });

  it('schedules a bulk job still ahead with the items its queue item lists, each version dropped with a warning; one already due is a warning', () => {
    const now = Date.parse('2026-12-06T10:00:00.000Z');
    const bulk = {
      uid: 'job1',
      type: 'bulk',
      action: 'unpublish',
      items: 3,
      entries: [
        { uid: 'blta', content_type_uid: 'post', locale: 'fr-fr' },
        { uid: 'bltb', content_type_uid: 'post', version: 2 },
      ],
      assets: [{ uid: 'bltc' }],
      environments: ['production'],
      locales: [],
      scheduled_at: '2026-12-07T10:00:00.000Z',
    };
    const due = { ...bulk, uid: 'job2', scheduled_at: '2026-12-06T09:00:00.000Z' };
    const { later, warnings } = schedulesToRestore([bulk, due], now);
    assert.deepEqual(later, [
      {
        type: 'bulk',
        uid: 'job1',
        action: 'unpublish',
        entries: [
          { uid: 'blta', content_type_uid: 'post', locale: 'fr-fr' },
          { uid: 'bltb', content_type_uid: 'post' },
        ],
        assets: [{ uid: 'bltc' }],
        environments: ['production'],
        locales: [],
        scheduled_at: '2026-12-07T10:00:00.000Z',
      },
    ]);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /^The scheduled bulk unpublish job1 of 3 items .* named version 2 of entry bltb; it is scheduled again for the target's latest version/);
    assert.match(warnings[1], /^The scheduled bulk unpublish job2 .* was due before this restore: it is not made now/);
  });

  it('schedules one that named a version for the latest, and says so', () => {
    const now = Date.parse('2026-12-06T10:00:00.000Z');
    const pinned = { uid: 'q1', type: 'entry', action: 'publish', entry: { uid: 'bltentry', content_type_uid: 'post', version: 3 }, environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-07T10:00:00.000Z' };
    const { later, warnings } = schedulesToRestore([pinned], now);
    assert.deepEqual(later, [{ type: 'entry', uid: 'bltentry', content_type_uid: 'post', action: 'publish', environments: ['production'], locales: ['en-us'], scheduled_at: '2026-12-07T10:00:00.000Z' }]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^The scheduled publish of entry bltentry .* named version 3; it is scheduled again for the target's latest version/);
  });
});

describe("matching a restore's schedules with the target's queue", () => {
  it('finds the same schedule whatever the order of its lists, its version or its time zone, and counts equal ones apart', () => {
    const entry = { uid: 'q1', type: 'entry', action: 'publish', entry: { uid: 'bltentry', content_type_uid: 'post', version: 4 }, environments: ['production', 'staging'], locales: ['en-us', 'fr-fr'], scheduled_at: '2026-12-07T10:00:00.000Z' };
    const bulk = { uid: 'job9', type: 'bulk', action: 'unpublish', items: 2, entries: [{ uid: 'blta', content_type_uid: 'post', locale: 'fr-fr', version: 1 }], assets: [{ uid: 'bltc' }], environments: ['production'], locales: [], scheduled_at: '2026-12-08T10:00:00.000Z' };
    // Already due schedules in the target's queue are still in it: they match too.
    const past = { ...entry, uid: 'q2', scheduled_at: '2020-01-01T00:00:00.000Z' };
    const held = alreadyScheduled([entry, entry, bulk, past, { uid: 'odd' }]);
    const one = { type: 'entry' as const, uid: 'bltentry', content_type_uid: 'post', action: 'publish' as const, environments: ['staging', 'production'], locales: ['fr-fr', 'en-us'], scheduled_at: '2026-12-07T11:00:00.000+01:00' };
    assert.deepEqual(held.get(scheduleKey(one)), ['bltentry', 'bltentry']);
    const job = { type: 'bulk' as const, uid: 'job1', action: 'unpublish' as const, entries: [{ uid: 'blta', content_type_uid: 'post', locale: 'fr-fr' }], assets: [{ uid: 'bltc' }], environments: ['production'], locales: [], scheduled_at: '2026-12-08T10:00:00.000Z' };
    // The target's job id, not the source's.
    assert.deepEqual(held.get(scheduleKey(job)), ['job9']);
    assert.deepEqual(held.get(scheduleKey({ ...one, scheduled_at: '2020-01-01T00:00:00.000Z' })), ['bltentry']);
    // Another action, time, environment, locale, item or content type is another schedule.
    for (const other of [
      { ...one, action: 'unpublish' as const },
      { ...one, scheduled_at: '2026-12-07T10:00:01.000Z' },
      { ...one, environments: ['production'] },
      { ...one, locales: ['en-us'] },
      { ...one, uid: 'bltother' },
      { ...one, content_type_uid: 'page' },
      { ...job, entries: [{ uid: 'blta', content_type_uid: 'post' }] },
      { ...job, assets: [] },
    ]) {
      assert.equal(held.get(scheduleKey(other)), undefined, JSON.stringify(other));
    }
  });
});

describe("where the backup holds a branch's history", () => {
  it('goes from the branch to main through each source, each as it was when the next was copied from it', () => {
    const at = (iso: string) => Date.parse(iso);
    const branches = [
      { uid: 'main', source: '', created_at: '2026-01-01T00:00:00.000Z' },
      { uid: 'staging', source: 'main', created_at: '2026-02-01T00:00:00.000Z' },
      { uid: 'plain', source: 'staging', created_at: '2026-03-01T00:00:00.000Z' },
      // Copied from a branch made after it (deleted and made again): the earlier cut holds.
      { uid: 'old', source: 'late', created_at: '2026-04-01T00:00:00.000Z' },
      { uid: 'late', source: 'main', created_at: '2026-05-01T00:00:00.000Z' },
      { uid: 'loop', source: 'loop', created_at: '2026-05-01T00:00:00.000Z' },
    ];
    assert.deepEqual(branchLineage(branches, 'main'), [{ branch: 'main', until: Infinity }]);
    assert.deepEqual(branchLineage(branches, 'plain'), [
      { branch: 'plain', until: Infinity },
      { branch: 'staging', until: at('2026-03-01T00:00:00.000Z') },
      { branch: 'main', until: at('2026-02-01T00:00:00.000Z') },
    ]);
    assert.deepEqual(branchLineage(branches, 'old'), [
      { branch: 'old', until: Infinity },
      { branch: 'late', until: at('2026-04-01T00:00:00.000Z') },
      { branch: 'main', until: at('2026-04-01T00:00:00.000Z') },
    ]);
    assert.deepEqual(branchLineage(branches, 'loop'), [{ branch: 'loop', until: Infinity }]);
    // Branches never read (a backup older than migration 003): its own history only.
    assert.deepEqual(branchLineage([], 'staging'), [{ branch: 'staging', until: Infinity }]);
  });

  it("carries a source's publications through a Contentful environment's copy, as its own environment's, and none through a /v3 branch", () => {
    nextSeq = 1;
    const inMain = (action: string, environment: string | null, branch = 'main') => ({ ...entryEvent(action, 'en-us', 1, {}, { environment }), branch });
    const main = [inMain('create', null), inMain('publish', 'master'), inMain('publish', 'production'), inMain('publish', 'staging')];
    const own = [inMain('update', null, 'staging'), inMain('publish', 'preview', 'staging')];
    const where = (events: BackupEvent[]) => publications(events).map((p) => p.environment).sort();
    const named = (b: string) => b === 'staging' || b === 'qa';
    // staging (a named environment) took master's publication as staging's; production's and a publish to an environment named staging in main stayed behind.
    const staging = eventsOnBranch([{ branch: 'staging', events: own }, { branch: 'main', events: main }], named);
    assert.deepEqual(staging.map((e) => e.seq), [1, 2, 5, 6], "oldest first, the copy's left-out publishes dropped");
    assert.deepEqual(where(staging), ['preview', 'staging']);
    assert.equal(summarize(staging)!.events, 4);
    // Through two named copies: master's, as qa's; through a /v3 branch anywhere on the way: none taken.
    assert.deepEqual(where(eventsOnBranch([{ branch: 'qa', events: [] }, { branch: 'staging', events: [] }, { branch: 'main', events: main }], named)), ['qa']);
    assert.deepEqual(where(eventsOnBranch([{ branch: 'plain', events: [] }, { branch: 'staging', events: own }, { branch: 'main', events: main }], named)), []);
    assert.deepEqual(where(eventsOnBranch([{ branch: 'qa', events: [] }, { branch: 'plain', events: [] }, { branch: 'main', events: main }], named)), []);
    // An unpublish in the source before the copy is carried too.
    assert.deepEqual(where(eventsOnBranch([{ branch: 'staging', events: [] }, { branch: 'main', events: [...main, inMain('unpublish', 'master')] }], named)), []);
  });

  it("names the source and the times when a branch's source made the entity after the copy, and never says it is there", () => {
    const at = (iso: string) => Date.parse(iso);
    const lineage = [
      { branch: 'plain', until: Infinity },
      { branch: 'staging', until: at('2026-03-01T00:00:00.000Z') },
      { branch: 'main', until: at('2026-02-01T00:00:00.000Z') },
    ];
    const made = notOnBranch('entry', 'entry blt1', lineage, (b) => (b === 'main' ? at('2026-02-15T00:00:00.000Z') : undefined));
    assert.equal(made.code, 'not_found');
    assert.equal(
      made.message,
      'The backup holds no history of entry blt1 on branch plain: it was made on branch main at 2026-02-15T00:00:00.000Z, after staging was copied from it at 2026-02-01T00:00:00.000Z, so plain never had it. A restore on main brings it back there.',
    );
    assert.deepEqual(made.errors, { branch: ['never held this entry'] });
    // The nearest source that made it says it (staging made its own after plain was copied).
    assert.match(notOnBranch('asset', 'asset a', lineage, (b) => (b === 'staging' ? at('2026-03-02T00:00:00.000Z') : at('2026-02-15T00:00:00.000Z'))).message, /made on branch staging at 2026-03-02.*after plain was copied from it at 2026-03-01/);
    // Held nowhere (or only before a cut, which a restore would have read): the plain 404.
    for (const heldFrom of [() => undefined, () => at('2026-01-15T00:00:00.000Z')]) {
      const none = notOnBranch('asset', 'asset a', lineage, heldFrom);
      assert.equal(none.message, 'The backup holds no history of asset a on branch plain.');
      assert.equal(none.errors, undefined);
    }
    assert.equal(notOnBranch('content_type', 'content_type post', [{ branch: 'main', until: Infinity }], () => 1).message, 'The backup holds no history of content_type post.');
  });
});

describe('a diff between two snapshots', () => {
  it('lists changed, added and removed paths inside groups and lists', () => {
    const a = { title: 'A', meta: { summary: 'x', keywords: ['a', 'b'] }, gone: 1, _version: 1 };
    const b = { title: 'B', meta: { summary: 'x', keywords: ['a'] }, added: true, _version: 2 };
    assert.deepEqual(diff(a, b, { ignore: NOISE_KEYS }), [
      { path: 'title', kind: 'changed', from: 'A', to: 'B' },
      { path: 'meta.keywords[1]', kind: 'removed', from: 'b' },
      { path: 'gone', kind: 'removed', from: 1 },
      { path: 'added', kind: 'added', to: true },
    ]);
  });
});

describe('rewriting references for a restore', () => {
  const schema: Field[] = [
    { uid: 'title', data_type: 'text' },
    { uid: 'author', data_type: 'reference', reference_to: ['author'] },
    { uid: 'cover', data_type: 'file' },
    { uid: 'gallery', data_type: 'file', multiple: true },
    { uid: 'sections', data_type: 'group', multiple: true, schema: [{ uid: 'related', data_type: 'reference', reference_to: ['post', 'page'] }] },
    { uid: 'extra', data_type: 'text' },
  ];
  const doc = {
    title: 'T',
    author: [{ uid: 'old-a', _content_type_uid: 'author' }],
    cover: 'old-c',
    gallery: ['old-g1', 'gone'],
    sections: [{ related: [{ uid: 'old-p', _content_type_uid: 'post' }] }],
    tags: ['x'],
    _version: 4,
  };
  const map = { reference: (r: { uid: string }) => (r.uid.startsWith('old-') ? r.uid.replace('old-', 'new-') : null), asset: (u: string) => (u === 'gone' ? null : u.replace('old-', 'new-')) };

  it('finds the entries and assets an entry refers to, in groups too', () => {
    assert.deepEqual(entryRefs(schema, doc), {
      entries: [
        { uid: 'old-a', _content_type_uid: 'author' },
        { uid: 'old-p', _content_type_uid: 'post' },
      ],
      assets: ['old-c', 'old-g1', 'gone'],
    });
  });

  it('rewrites them to the target uids, drops what cannot be found, and clears fields the old version lacked', () => {
    assert.deepEqual(entryBody(schema, doc, map, { clear: true }), {
      title: 'T',
      author: [{ uid: 'new-a', _content_type_uid: 'author' }],
      cover: 'new-c',
      gallery: ['new-g1'],
      sections: [{ related: [{ uid: 'new-p', _content_type_uid: 'post' }] }],
      extra: null,
      tags: ['x'],
    });
    assert.equal('extra' in entryBody(schema, doc, map, { clear: false }), false);
  });

  it('lists and strips content type references of a schema', () => {
    assert.deepEqual([...schemaRefs(schema)].sort(), ['author', 'page', 'post']);
    const stripped = stripSchemaRefs(schema, new Set(['author', 'post']));
    assert.equal(stripped.some((f) => f.uid === 'author'), false);
    assert.deepEqual(stripped.find((f) => f.uid === 'sections')!.schema![0].reference_to, ['page']);
  });
});

describe('reading a delivery', () => {
  it('derives what the feed would say from the payload, and flags a concise one', () => {
    const e = fromDelivery({
      event: 'publish',
      module: 'entry',
      api_key: 'bltstack',
      data: { entry: { uid: 'blte', title: 'Hi', locale: 'en-us', content_type_uid: 'post', tags: [], _version: 3 }, content_type: { uid: 'post' }, environment: { name: 'production', uid: 'bltenv' }, locale: 'fr-fr' },
      triggered_at: '2026-01-02T03:04:05.000Z',
      branch: { uid: 'main', alias: [] },
      seq: 42,
    });
    assert.deepEqual(
      [e.seq, e.uid, e.content_type_uid, e.line, e.locale, e.environment, e.version, e.actor, e.partial, e.created_at],
      [42, 'blte', 'post', 'en-us', 'fr-fr', 'production', 3, null, false, Date.parse('2026-01-02T03:04:05.000Z')],
    );
    const concise = fromDelivery({ event: 'update', module: 'asset', api_key: 'k', data: { asset: { uid: 'blta', _version: 1 } }, triggered_at: new Date().toISOString(), branch: { uid: 'main' }, seq: 1 });
    assert.equal(concise.partial, true);
  });

  it('refuses a body without the event fields, naming them', () => {
    assert.throws(
      () => fromDelivery({ event: 'update', module: 'widget', api_key: 'k', data: {}, triggered_at: new Date().toISOString(), branch: { uid: 'main' }, seq: 0 }),
      (e: HeraldError) => e.code === 'validation_failed' && 'seq' in e.errors! && 'module' in e.errors!,
    );
  });
});

describe('verifying a delivery', () => {
  const secret = testSecret(1);
  const body = Buffer.from('{"seq":1}');
  const sign = (s: string, at = new Date()) => new Webhook(s).sign('exe_1', at, body.toString());
  const headers = (signature: string, at = new Date()) => ({ 'webhook-id': 'exe_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature });

  it('accepts any configured secret, and a header signed by the old and new secret during a rotation', () => {
    const other = testSecret(2);
    const verify = deliveryVerifier({ secrets: [secret] });
    // One instant for the signature and its timestamp header: two clock reads could straddle a second.
    const at = new Date();
    assert.deepEqual(verify(headers(sign(secret, at), at), body), { ok: true, by: 'signature' });
    assert.deepEqual(verify(headers(`${sign(other, at)} ${sign(secret, at)}`, at), body), { ok: true, by: 'signature' });
    assert.equal(verify(headers(sign(other, at), at), body).ok, false);
    assert.equal(deliveryVerifier({ secrets: [other, secret] })(headers(sign(secret, at), at), body).ok, true);
  });

  it('refuses a replay outside the five-minute window', () => {
    const old = new Date(Date.now() - 10 * 60_000);
    const v = deliveryVerifier({ secrets: [secret] })(headers(sign(secret, old), old), body);
    assert.deepEqual(v, { ok: false, reason: "The delivery's signature does not verify (Message timestamp too old)." });
  });

  it('accepts matching basic auth instead, and only that', () => {
    const verify = deliveryVerifier({ secrets: [], basicAuth: { user: 'u', password: 'p:w' } });
    const basic = (s: string) => ({ authorization: 'Basic ' + Buffer.from(s).toString('base64') });
    assert.deepEqual(verify(basic('u:p:w'), body), { ok: true, by: 'basic_auth' });
    assert.equal(verify(basic('u:p'), body).ok, false);
    assert.equal(verify({}, body).ok, false);
  });
});

describe("why a version's file was not found at the source", () => {
  it('waits while the source is behind that version, and calls the file gone otherwise', () => {
    assert.equal(fileFits(3, { _version: 2 }), 'behind');
    assert.equal(fileFits(3, { _version: 3 }), 'gone');
    assert.equal(fileFits(3, { _version: 7 }), 'gone');
    assert.equal(fileFits(3, undefined), 'gone');
  });

  it('calls the file gone when the uid names another asset now, whatever its version', () => {
    const then = '2026-12-06T10:00:00.000Z';
    assert.equal(fileFits(3, { _version: 2, created_at: then }, then), 'behind');
    assert.equal(fileFits(3, { _version: 2, created_at: '2026-12-06T11:00:00.000Z' }, then), 'gone');
  });

  it("keeps unconfirmed bytes (an older Herald's) only when they have the version's file size", () => {
    assert.equal(unconfirmedFileProblem(13, '13', 1), undefined);
    assert.equal(unconfirmedFileProblem(13, undefined, 1), undefined);
    assert.match(unconfirmedFileProblem(13, '20', 1) ?? '', /^the source served 13 bytes for version 1, whose file had 20: another asset was given this uid since/);
  });
});

describe('settings of the backup center', () => {
  const secret = testSecret(4);
  it('takes flags over the environment over the defaults', () => {
    const c = loadBackupConfig({ port: 0 }, { HERALD_BACKUP_PORT: '4300', HERALD_BACKUP_SECRET: `${secret}, ${testSecret(6)}`, HERALD_BACKUP_CATCH_UP_INTERVAL: '5m' });
    assert.deepEqual([c.port, c.secrets.length, c.catchUpIntervalMs, c.queueIntervalMs, c.settleMs], [0, 2, 300_000, 5_000, 5_000]);
    assert.equal(loadBackupConfig({}, { HERALD_BACKUP_SECRET: secret, HERALD_BACKUP_QUEUE_INTERVAL: '0' }).queueIntervalMs, 0, '0: at catch-up only');
  });

  it('stops with a message naming the setting', () => {
    const bad = (env: Record<string, string>, pattern: RegExp) => assert.throws(() => loadBackupConfig({}, env), (e: HeraldError) => pattern.test(e.message));
    bad({ HERALD_BACKUP_SECRET: secret, HERALD_BACKUP_SOURCE: 'http://127.0.0.1:4100' }, /HERALD_BACKUP_TOKEN \(--token\): is required with --source/);
    bad({ HERALD_BACKUP_SECRET: secret, HERALD_BACKUP_SOURCE: 'ftp://x' }, /HERALD_BACKUP_SOURCE: must be an http or https URL/);
    bad({ HERALD_BACKUP_SECRET: secret, HERALD_BACKUP_CATCH_UP_INTERVAL: 'soon' }, /HERALD_BACKUP_CATCH_UP_INTERVAL: "soon" is not a duration/);
    bad({ HERALD_BACKUP_BASIC_AUTH: 'nopassword' }, /HERALD_BACKUP_BASIC_AUTH: must be user:password/);
    bad({ HERALD_BACKUP_SECRET: secret, HERALD_BACKUP_QUEUE_INTERVAL: '10ms' }, /HERALD_BACKUP_QUEUE_INTERVAL: must be 0 \(at catch-up only\) or at least 100ms/);
  });

  it('reads a restore selection, refusing two at once', () => {
    assert.deepEqual(parseSelection({ before: '2026-01-01T00:00:00Z', locale: 'FR-FR' }), { before: Date.parse('2026-01-01T00:00:00Z'), locale: 'fr-fr' });
    assert.throws(() => parseSelection({ version: '2', seq: '3' }), (e: HeraldError) => e.code === 'validation_failed');
    assert.throws(() => parseSelection({ version: '0' }), (e: HeraldError) => 'version' in e.errors!);
  });
});

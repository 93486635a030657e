import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  createEntryWithText,
  deleteEntry,
  applyEntryParams,
  entryVersions,
  fetchEntry,
  listEntries,
  setEntryArchived,
  updateEntryWithText,
  type SavedEntry,
} from '../../content/entries.ts';
import { publishOrSchedule } from '../../content/schedule.ts';
import { originOf } from '../origin.ts';
import { outcomeError } from '../../content/publications.ts';
import { bodyField } from '../../content/field-errors.ts';
import { MAX_LIMIT, parseFlag, parsePaging, parseQuery, parseSort } from '../../content/read-query.ts';
import type { Herald } from '../../herald.ts';
import { doc, Always, checkAlways, CREATED, Envelope, Flag, LIST_QUERY, Paging, Params, PROJECTION, Query, TAGS, Text, Texts } from '../schemas.ts';
import { parseReferenceParams } from '../../content/query-params.ts';
import { createWithUid, requestedUid } from '../requested-uid.ts';
import { branchOn, branchOnAnswer, branchOnOne, INCLUDE_BRANCH } from '../include-branch.ts';

type Q = Record<string, string | undefined>;
type One = { Params: { content_type_uid: string; uid: string }; Querystring: Q };

const CT = Params({ content_type_uid: 'the content type uid' });
const ONE = Params({ content_type_uid: 'the content type uid', uid: 'the entry uid' });
const LOCALE = Text('the locale (default: the master locale)');
/** What a read of entries takes besides paging (src/content/query-params.ts). */
const READ_PARAMS = {
  locale: LOCALE,
  'include[]': Texts('resolve this reference field (a dotted path through references and groups, e.g. author.books); repeat for more'),
  include_reference_content_type_uid: Flag('resolved entries carry `_content_type_uid`'),
  include_publish_details: Always('include publish_details'),
  include_fallback: Always("show the locale's fallback when an entry is not localized in it"),
  ...INCLUDE_BRANCH,
};

/** include[] and only/except, after checking the parameters Herald always honours. */
function readParams(q: Q) {
  checkAlways(q, ['include_publish_details', 'include_fallback']);
  return parseReferenceParams(q);
}

const PUBLISH = Envelope('entry', 'environments: [names], locales: [codes]', { required: false });

/**
 * An update is an auto-save (recorded as `auto_save`, as a web editor sends while typing) when
 * flagged by `?auto_save=true` or the `x-herald-auto-save: true` header.
 */
function isAutoSave(req: FastifyRequest<{ Querystring: Q }>): boolean {
  const header = req.headers['x-herald-auto-save'];
  return parseFlag(req.query.auto_save, 'auto_save') || parseFlag(Array.isArray(header) ? header[0] : header, 'x-herald-auto-save');
}

/**
 * A save's answer, `{ notice, entry }`, as the bytes fastify's JSON.stringify of that object gives,
 * from the entry's text the save made (SavedEntry) instead of stringifying the entry again. `notice`
 * is one of the routes' own constants: plain text JSON.stringify leaves as it is. With
 * include_branch=true the entry gains `_branch` and the object is answered as before.
 */
function savedAnswer(reply: FastifyReply, notice: string, saved: SavedEntry, query: Q, branch: string): unknown {
  if (parseFlag(query.include_branch, 'include_branch')) return { notice, entry: branchOnOne(saved.entry, query, branch) };
  // The content type fastify gives a serialized object; a string sent with it is sent as it is.
  reply.type('application/json; charset=utf-8');
  return `{"notice":"${notice}","entry":${saved.text}}`;
}

/** Entries (Contentstack CMA `/v3/content_types/{ct}/entries`), plus archive and unarchive. */
export default function entryRoutes(app: FastifyInstance, h: Herald) {
  const base = '/v3/content_types/:content_type_uid/entries';

  app.post<{ Params: { content_type_uid: string }; Querystring: Q }>(base, doc(TAGS.entries, 'Create an entry (Herald: x-herald-uid chooses its uid)', { params: CT, querystring: Query({ locale: LOCALE, ...INCLUDE_BRANCH }), body: Envelope('entry', "the entry's fields, by the content type's schema"), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const uid = requestedUid(req);
    const saved = await createWithUid(uid, () => createEntryWithText(h, scope, req.params.content_type_uid, bodyField(req.body, 'entry'), { locale: req.query.locale, ...(uid !== undefined ? { uid } : {}) }));
    reply.status(201);
    return savedAnswer(reply, 'Entry created successfully.', saved, req.query, scope.branch);
  });

  app.get<{ Params: { content_type_uid: string }; Querystring: Q }>(base, doc(TAGS.entries, 'List entries', { params: CT, querystring: Query({ ...Paging(MAX_LIMIT), ...LIST_QUERY, ...READ_PARAMS }, PROJECTION) }), async (req) => {
    const scope = await h.scope(req);
    const paging = parsePaging(req.query);
    const params = readParams(req.query);
    const { entries, count } = await listEntries(h, scope, req.params.content_type_uid, {
      locale: req.query.locale,
      paging,
      query: parseQuery(req.query.query),
      sort: parseSort(req.query),
    });
    if (paging.count) return { entries: count };
    await applyEntryParams(h, scope, req.params.content_type_uid, entries, params, req.query.locale, originOf(req, h.config.publicUrl));
    const shown = branchOn(entries, req.query, scope.branch);
    return paging.includeCount ? { entries: shown, count } : { entries: shown };
  });

  app.get<One>(`${base}/:uid`, doc(TAGS.entries, 'Get an entry (a version with ?version=)', { params: ONE, querystring: Query({ ...READ_PARAMS, version: Text('a version number (default: the latest)') }, PROJECTION) }), async (req) => {
    const scope = await h.scope(req);
    const params = readParams(req.query);
    const entry = await fetchEntry(h, scope, req.params.content_type_uid, req.params.uid, { locale: req.query.locale, version: req.query.version });
    const shown = [entry];
    await applyEntryParams(h, scope, req.params.content_type_uid, shown, params, req.query.locale, originOf(req, h.config.publicUrl));
    return { entry: branchOnOne(shown[0], req.query, scope.branch) };
  });

  app.get<One>(`${base}/:uid/versions`, doc(TAGS.entries, "List an entry's versions", { params: ONE, querystring: Query({ locale: LOCALE, ...INCLUDE_BRANCH }) }), async (req) => {
    const scope = await h.scope(req);
    const versions = await entryVersions(h, scope, req.params.content_type_uid, req.params.uid, { locale: req.query.locale });
    return { versions: branchOn(versions, req.query, scope.branch) };
  });

  app.put<One>(`${base}/:uid`, doc(TAGS.entries, 'Update an entry (a new version); an auto-save with ?auto_save=true or x-herald-auto-save: true', { params: ONE, querystring: Query({ locale: LOCALE, auto_save: Flag('record the update as an auto_save (a web editor typing)'), ...INCLUDE_BRANCH }), body: Envelope('entry', 'the fields to change') }), async (req, reply) => {
    const scope = await h.scope(req);
    const saved = await updateEntryWithText(h, scope, req.params.content_type_uid, req.params.uid, bodyField(req.body, 'entry'), {
      locale: req.query.locale,
      autoSave: isAutoSave(req),
    });
    return savedAnswer(reply, 'Entry updated successfully.', saved, req.query, scope.branch);
  });

  // delete_all_localized=true (Contentstack's; the management SDK's entry.delete({ delete_all_localized: true }))
  // deletes the master and every localized version, also when ?locale= names one.
  app.delete<One>(`${base}/:uid`, doc(TAGS.entries, 'Delete an entry (one locale with ?locale=; every locale without it, or with delete_all_localized=true)', { params: ONE, querystring: Query({ locale: LOCALE, delete_all_localized: Flag('true: delete the master and every localized version (default false)') }) }), async (req) => {
    const scope = await h.scope(req);
    const allLocalized = parseFlag(req.query.delete_all_localized, 'delete_all_localized');
    await deleteEntry(h, scope, req.params.content_type_uid, req.params.uid, { locale: req.query.locale, allLocalized });
    return { notice: 'Entry deleted successfully.' };
  });

  // A failed environment/locale is recorded (publish.fail) and committed with the successes;
  // the response is then a 422 naming each failure.
  // With a future `scheduled_at` (top level, as the official client sends it) the change is stored
  // and made then (src/content/schedule.ts); the answer says when.
  for (const action of ['publish', 'unpublish'] as const) {
    const summary = action === 'publish' ? 'Publish an entry to environments and locales (at `scheduled_at`, when given)' : 'Unpublish an entry from environments and locales (at `scheduled_at`, when given)';
    app.post<One>(`${base}/:uid/${action}`, doc(TAGS.entries, summary, { params: ONE, querystring: Query({ locale: LOCALE, ...INCLUDE_BRANCH }), body: PUBLISH }), async (req) => {
      const scope = await h.scope(req);
      const answer = <T extends object>(a: T) => branchOnAnswer(a, req.query, scope.branch);
      const target = { module: 'entry' as const, contentType: req.params.content_type_uid, uid: req.params.uid };
      const done = await publishOrSchedule(h, scope, target, action, req.body, { queryLocale: req.query.locale, origin: originOf(req, h.config.publicUrl) });
      if ('scheduled' in done) return answer({ notice: `Entry is scheduled to be ${action}ed at ${done.scheduled.scheduled_at}.`, scheduled: done.scheduled });
      const failed = outcomeError(`entry ${req.params.uid}`, done.outcomes);
      if (failed) throw failed;
      return answer({ notice: `Entry ${action}ed successfully.`, outcomes: done.outcomes });
    });
  }

  app.post<One>(`${base}/:uid/archive`, doc(TAGS.entries, 'Archive an entry (it cannot be published until unarchived)', { params: ONE, querystring: Query({ locale: LOCALE, ...INCLUDE_BRANCH }) }), async (req) => {
    const scope = await h.scope(req);
    const entry = await setEntryArchived(h, scope, req.params.content_type_uid, req.params.uid, true, { locale: req.query.locale });
    return { notice: 'Entry archived successfully.', entry: branchOnOne(entry, req.query, scope.branch) };
  });

  app.post<One>(`${base}/:uid/unarchive`, doc(TAGS.entries, 'Unarchive an entry', { params: ONE, querystring: Query({ locale: LOCALE, ...INCLUDE_BRANCH }) }), async (req) => {
    const scope = await h.scope(req);
    const entry = await setEntryArchived(h, scope, req.params.content_type_uid, req.params.uid, false, { locale: req.query.locale });
    return { notice: 'Entry unarchived successfully.', entry: branchOnOne(entry, req.query, scope.branch) };
  });
}

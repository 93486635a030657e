import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bulkNotice, jobItems, jobStatus, runBulk } from '../../content/bulk.ts';
import { parseFlag } from '../../content/read-query.ts';
import { scheduleBulk } from '../../content/schedule.ts';
import { fieldErrors, HeraldError } from '../../errors.ts';
import type { JobKind } from '../../events/job.ts';
import type { Herald } from '../../herald.ts';
import { originOf } from '../origin.ts';
import { branchOnAnswer, INCLUDE_BRANCH } from '../include-branch.ts';
import { Body, doc, Field, Flag, Params, Query, TAGS, Text, Texts, Whole, wholeQuery } from '../schemas.ts';

type Q = Record<string, string | string[] | undefined>;

/**
 * What a bulk request may say besides its body, in the query string or (as the management SDK
 * sends the first two) as headers. Herald has no workflows, publish rules or approvals, so every
 * entry is at a stage that may be published and needs no approval: `skip_workflow_stage_check`
 * and `approvals` change nothing, whichever way they are set. Nested reference publishing
 * (`nested=true`, with `event_type=bulk`) and `publish_all_localized` are refused by name.
 */
const PARAMS = {
  skip_workflow_stage_check: Flag('accepted, no effect: Herald has no workflows, every entry may be published'),
  approvals: Flag('accepted, no effect: Herald has no publish rules, no entry needs an approval'),
  nested: Flag('nested reference publishing: only false is accepted (Herald does not publish references along)'),
  event_type: Text('`bulk` (what the SDK sends with nested=true); no other value', { enum: ['bulk', ''] }),
  publish_all_localized: Flag('only false is accepted: name the locales to publish in `locales`'),
  ...INCLUDE_BRANCH,
};
const HEADER_FLAGS = ['skip_workflow_stage_check', 'approvals'] as const;

const BODY = Body({
  entries: Field('[{ uid, content_type (or _content_type_uid), locale?, version? }]'),
  assets: Field('[{ uid, version? }]'),
  locales: Field('publish/unpublish: locale codes (default: each entry its own `locale`, else the master locale)'),
  environments: Field('publish/unpublish: environment names (or uids)'),
  rules: Field('{ approvals: true|false } (accepted, no effect: Herald has no approvals)'),
  publish_with_reference: Field('only false is accepted (nested reference publishing is not supported)'),
  scheduled_at: Field('publish/unpublish: when to run the job (ISO 8601, e.g. 2026-12-24T18:00:00.000Z); absent or past: now'),
});

/**
 * The values of a bulk publish's or unpublish's query and header parameters: unsupported ones are a
 * 422 naming them (a parameter PARAMS does not list was refused before, by query-check.ts).
 */
function checkParams(req: FastifyRequest<{ Querystring: Q }>): void {
  const errors = fieldErrors();
  const add = (field: string, problem: string) => (errors[field] ??= []).push(problem);
  const q = req.query ?? {};
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  for (const name of ['skip_workflow_stage_check', 'approvals', 'nested', 'publish_all_localized'] as const) {
    const v = one(q[name]);
    if (v !== undefined && v !== '' && v !== 'true' && v !== 'false') add(name, 'must be true or false');
  }
  if (one(q.nested) === 'true') add('nested', 'nested reference publishing is not supported: name the referenced entries in the same request');
  if (one(q.publish_all_localized) === 'true') add('publish_all_localized', 'is not supported: name the locales to act in with `locales`');
  const eventType = one(q.event_type);
  if (eventType !== undefined && eventType !== '' && eventType !== 'bulk') add('event_type', 'must be bulk');
  for (const name of HEADER_FLAGS) {
    const raw = req.headers[name];
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v !== undefined && v !== 'true' && v !== 'false') add(`${name} (header)`, 'must be true or false');
  }
  const names = Object.keys(errors);
  if (names.length) {
    throw new HeraldError('validation_failed', `${names.map((n) => `'${n}'`).join(', ')}: ${errors[names[0]][0]}`, { errors });
  }
}

/** Bulk operations (Contentstack CMA `/v3/bulk/{publish,unpublish,delete}`): src/content/bulk.ts. */
export default function bulkRoutes(app: FastifyInstance, h: Herald) {
  const summaries: Record<JobKind, string> = {
    publish: 'Publish entries and assets in bulk (one job: each item its own events, then the job event per environment)',
    unpublish: 'Unpublish entries and assets in bulk (one job: each item its own events, then the job event per environment)',
    delete: 'Delete entries and assets in bulk (one job: each item its delete event, then the job event)',
  };
  for (const kind of ['publish', 'unpublish', 'delete'] as const) {
    const querystring = kind === 'delete' ? Query(INCLUDE_BRANCH) : Query(PARAMS);
    app.post<{ Querystring: Q }>(`/v3/bulk/${kind}`, doc(TAGS.bulk, summaries[kind], { querystring, body: BODY }), async (req) => {
      const scope = await h.scope(req);
      // A parameter the route's querystring does not list was refused before (query-check.ts);
      // publish and unpublish also check the values of theirs.
      if (kind !== 'delete') checkParams(req);
      const origin = originOf(req, h.config.publicUrl);
      const answer = <T extends object>(a: T) => branchOnAnswer(a, req.query, scope.branch);
      if (kind !== 'delete') {
        const later = await scheduleBulk(h, scope, kind, req.body, origin);
        if (later) return answer({ notice: `Bulk ${kind} job ${later.job_id} is scheduled for ${later.scheduled.scheduled_at}.`, job_id: later.job_id, scheduled: later.scheduled });
      }
      const job = await runBulk(h, scope, kind, req.body, origin);
      return answer({ notice: bulkNotice(job), job_id: job.job_id, job });
    });
  }

  // The job's status and items, read from its job events (what the job-based webhook's `job_id`
  // leads to, as Contentstack's job status API); a scheduled job that has not run is `scheduled`.
  const JOB = Params({ job_id: 'the job_id a bulk request answered' });
  app.get<{ Params: { job_id: string } }>('/v3/bulk/jobs/:job_id', doc(TAGS.bulk, "A bulk job's status: counts of items done and failed", { params: JOB, querystring: Query({}) }), async (req) => {
    const scope = await h.scope(req);
    return { job: await jobStatus(h.db, scope, req.params.job_id) };
  });
  app.get<{ Params: { job_id: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/v3/bulk/jobs/:job_id/items',
    doc(TAGS.bulk, "A bulk job's items per environment and locale, with their outcome", {
      params: JOB,
      querystring: Query({
        skip: Whole('items to skip (default 0)', 0),
        limit: Whole('items per page, at most 1000 (default 100)', 1, 1000),
        include_count: Flag('add `total_count`, the number of items'),
        status: Text('only items that ended so', { enum: ['success', 'failed', ''] }),
        type: Text('only entries or only assets', { enum: ['entry', 'asset', ''] }),
        ct: Texts('only entries of this content type (repeat for more)'),
      }),
    }),
    async (req) => {
      const scope = await h.scope(req);
      const q = req.query;
      const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;
      const ct = q.ct === undefined ? undefined : [q.ct].flat().filter((c): c is string => typeof c === 'string' && c !== '');
      const items = await jobItems(h.db, scope, req.params.job_id, { status: one(q.status), type: one(q.type), ct });
      const skip = wholeQuery(one(q.skip), 'skip', 0, 1_000_000);
      const limit = wholeQuery(one(q.limit), 'limit', 100, 1000, 1);
      const page = items.slice(skip, skip + limit);
      return parseFlag(one(q.include_count), 'include_count') ? { items: page, skip, limit, total_count: items.length } : { items: page };
    },
  );
}

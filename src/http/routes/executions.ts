import type { FastifyInstance } from 'fastify';
import { HeraldError, invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { getExecution, listExecutions } from '../../delivery/log.ts';
import { DEFAULT_BUCKET_MS, DEFAULT_SPAN_MS, MAX_BUCKETS, webhookStats } from '../../delivery/stats.ts';
import { ALL_ACTIONS } from '../../events/event.ts';
import { parseDuration } from '../../config.ts';
import { EXECUTION_STATES } from '../../delivery/policy.ts';
import { channelTarget, type ChannelTarget } from '../../webhooks/channels.ts';
import { sampleEvent } from '../../events/sample.ts';
import { originOf } from '../origin.ts';
import { createTargetPolicy, targetProblem, withAllowHint } from '../../net/target.ts';
import { Type } from '@sinclair/typebox';
import { doc, Body, Field, Params, Query, TAGS, Text, Whole, wholeQuery } from '../schemas.ts';

const TEST = Body({
  channel: Field('a channel or topic naming one kind of event (content_types.blog.entries.publish, assets.update, Entry.save); absent: the sample call'),
  uid: Field('the entry, asset or content type to build the event from (default: a generated example of the content type)'),
});

/** A test request's body: null for the sample call (no body, or no channel), else what to send. */
function testRequest(raw: unknown): { channel: string; target: ChannelTarget; uid?: string } | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new HeraldError('bad_request', 'The body must be a JSON object: { "channel": ..., "uid": ... }.');
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) if (key !== 'channel' && key !== 'uid') throw invalid(key, 'is not a known field');
  if (body.channel === undefined) {
    if (body.uid !== undefined) throw invalid('channel', 'is required with uid');
    return null;
  }
  const target = channelTarget(body.channel);
  if (typeof target === 'string') throw invalid('channel', target);
  if (body.uid !== undefined && (typeof body.uid !== 'string' || body.uid === '')) throw invalid('uid', 'must be the uid of an entry, asset or content type');
  return { channel: body.channel as string, target, ...(body.uid ? { uid: body.uid as string } : {}) };
}

/** Largest page of executions. */
const MAX_LIMIT = 100;

function time(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(field, 'must be an ISO date or milliseconds since the epoch');
  return ms;
}

/** One of `allowed`, or undefined when absent or empty; anything else is a 422 naming the parameter. */
function choice<T extends string>(value: string | undefined, field: string, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw invalid(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

const WEBHOOK = Params({ uid: 'the webhook uid' });
const EXECUTIONS = Query({
  skip: Whole('executions to skip (default 0)', 0, 1_000_000),
  limit: Whole(`executions per page, at most ${MAX_LIMIT} (default 25; 0 also means 25)`, 0, MAX_LIMIT),
  from: Text('created at or after: an ISO date or milliseconds since the epoch'),
  to: Text('created at or before: an ISO date or milliseconds since the epoch'),
  state: Type.String({ description: 'only executions in this state (`failed`: failed for good, no retry to come)', enum: [...EXECUTION_STATES] }),
  failed: Type.String({ description: '`any`: only executions whose last attempt failed, whether or not a retry is scheduled', enum: ['any', ''] }),
  event: Type.String({ description: 'only executions of this event action', enum: [...ALL_ACTIONS] }),
  q: Text('only executions of the entity with this uid, or whose title contains this text (any case)'),
});
const STATS = Query({
  from: Text('window start (inclusive): an ISO date or milliseconds since the epoch (default: `to` minus 24 hours)'),
  to: Text('window end (exclusive): an ISO date or milliseconds since the epoch (default: now)'),
  bucket: Text(`bucket width: a duration such as 5m or 1h, or milliseconds (default 1h); at most ${MAX_BUCKETS} buckets`),
});

/**
 * The activity log and manual retry (Contentstack paths, as the official client calls them):
 * GET  /v3/webhooks/:uid/executions   newest first; skip, limit, from, to, state
 * POST /v3/webhooks/:uid/retry        { execution_uid }: send again now, whatever its state
 * GET  /v3/webhooks/:execution_uid/logs  one execution with its attempts
 * POST /v3/webhooks/:uid/test         a test call now, not stored; { channel, uid? }: that event's call
 */
export default function executionRoutes(app: FastifyInstance, h: Herald) {
  const policy = createTargetPolicy(h.config.allowPrivateTargets);
  async function ownWebhook(apiKey: string, uid: string) {
    if (!(await h.webhooks.get(apiKey, uid))) throw notFound('Webhook');
  }

  app.get<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/webhooks/:uid/executions', doc(TAGS.executions, "A webhook's executions, newest first, with their attempts", { params: WEBHOOK, querystring: EXECUTIONS }), async (req) => {
    const scope = await h.scope(req);
    await ownWebhook(scope.api_key, req.params.uid);
    const q = req.query;
    const state = q.state || undefined;
    if (state !== undefined && !(EXECUTION_STATES as readonly string[]).includes(state)) {
      throw invalid('state', `must be one of ${EXECUTION_STATES.join(', ')}`);
    }
    const { executions, count: total } = await listExecutions(h.db, req.params.uid, {
      skip: wholeQuery(q.skip, 'skip', 0, 1_000_000),
      limit: wholeQuery(q.limit, 'limit', 25, MAX_LIMIT) || 25,
      from: time(q.from, 'from'),
      to: time(q.to, 'to'),
      state,
      anyFailure: choice(q.failed, 'failed', ['any']) === 'any',
      event: choice(q.event, 'event', ALL_ACTIONS),
      search: q.q?.trim() || undefined,
      dialect: h.db.dialect,
    });
    return { webhooks: executions, count: total };
  });

  // Delivery health for a chart: attempts per bucket (succeeded, failed) and their p95 duration.
  app.get<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/webhooks/:uid/stats', doc(TAGS.executions, "A webhook's attempts over time: successes, failures and p95 duration per bucket", { params: WEBHOOK, querystring: STATS }), async (req) => {
    const scope = await h.scope(req);
    await ownWebhook(scope.api_key, req.params.uid);
    const q = req.query;
    const to = time(q.to, 'to') ?? Date.now();
    const from = time(q.from, 'from') ?? to - DEFAULT_SPAN_MS;
    let bucket = DEFAULT_BUCKET_MS;
    if (q.bucket !== undefined && q.bucket !== '') {
      try {
        bucket = parseDuration(q.bucket, 'bucket');
      } catch {
        throw invalid('bucket', 'must be a duration such as 5m or 1h, or milliseconds');
      }
      if (bucket < 1000) throw invalid('bucket', 'must be at least 1s');
    }
    if (from >= to) throw invalid('from', 'must be before to');
    if (Math.ceil((to - from) / bucket) > MAX_BUCKETS) throw invalid('bucket', `makes more than ${MAX_BUCKETS} buckets between from and to; choose a wider one`);
    const buckets = await webhookStats(h.db, req.params.uid, { from, to, bucket });
    return {
      stats: {
        webhook_uid: req.params.uid,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucket_ms: bucket,
        succeeded: buckets.reduce((n, b) => n + b.succeeded, 0),
        failed: buckets.reduce((n, b) => n + b.failed, 0),
        buckets,
        // Its adaptive concurrency limit in this process; null when this process does not deliver
        // or has not delivered to it since it started (workers keep their own).
        concurrency: { limit: h.delivery.concurrencyLimits().get(req.params.uid) ?? null, max: h.config.maxInFlightPerWebhook },
      },
    };
  });

  app.post<{ Params: { uid: string } }>('/v3/webhooks/:uid/retry', doc(TAGS.executions, 'Retry an execution now, whatever its state', { params: WEBHOOK, body: Body({ execution_uid: Field('the uid of the execution to send again (required)') }) }), async (req) => {
    const scope = await h.scope(req);
    await ownWebhook(scope.api_key, req.params.uid);
    const body = (req.body ?? {}) as { execution_uid?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', 'The body must be a JSON object: { "execution_uid": ... }.');
    for (const key of Object.keys(body)) if (key !== 'execution_uid') throw invalid(key, 'is not a known field');
    if (typeof body.execution_uid !== 'string' || body.execution_uid === '') throw invalid('execution_uid', 'is required');
    const result = await h.delivery.retry(req.params.uid, body.execution_uid);
    if (result === 'not_found') throw notFound('Execution');
    if (result === 'in_flight') {
      throw new HeraldError('conflict', 'This execution is being delivered right now; retry it once the attempt ends.', {
        errors: { execution_uid: ['is being delivered right now'] },
      });
    }
    return { notice: 'Webhook retry scheduled.', execution_uid: body.execution_uid };
  });

  // A test call: sends a sample payload now and answers with the request and the response.
  app.post<{ Params: { uid: string } }>('/v3/webhooks/:uid/test', doc(TAGS.webhooks, 'Send a signed test call now: a sample call, or with `channel` the event the webhook would get for it (marked x-herald-test: 1); answers with the request and response (stored nowhere)', { params: WEBHOOK, body: TEST }), async (req) => {
    const scope = await h.scope(req);
    const webhook = await h.webhooks.get(scope.api_key, req.params.uid);
    if (!webhook) throw notFound('Webhook');
    const ask = testRequest(req.body);
    // A target the policy refuses is a 422 naming the field, as on create and update (hostile-input.md):
    // by its text first, then as the connection found it (a name resolving to a forbidden address).
    const problem = targetProblem(webhook.destinations[0].target_url, policy);
    if (problem) throw invalid('destinations.0.target_url', withAllowHint(problem));
    // With a channel: the event the webhook would get for it (src/events/sample.ts); else the sample call.
    const event = ask ? await sampleEvent(h, scope, ask.target, { uid: ask.uid, origin: originOf(req, h.config.publicUrl), now: Date.now() }) : null;
    const { request, record } = event ? await h.delivery.testEvent(webhook, event) : await h.delivery.test(webhook);
    if (record.outcome === 'blocked') throw invalid('destinations.0.target_url', /: it (.*)$/.exec(record.reason ?? '')?.[1] ?? 'is refused by the target policy');
    return {
      notice: record.outcome === 'success' ? 'The test call succeeded.' : `The test call failed: ${record.reason}.`,
      test: {
        outcome: record.outcome,
        status: record.status_code,
        reason: record.reason,
        duration_ms: record.duration_ms,
        ...(event ? { event: { channel: ask!.channel, event: `${event.module}.${event.action}`, uid: event.uid, content_type_uid: event.content_type_uid ?? null, example: !ask!.uid && !ask!.target.uid } } : {}),
        request,
        response: record.response ? { status: record.status_code, ...record.response } : { status: null },
      },
    };
  });

  app.get<{ Params: { uid: string } }>('/v3/webhooks/:uid/logs', doc(TAGS.executions, 'One execution with its attempts', { params: Params({ uid: 'the execution uid (the Contentstack path names an execution here)' }) }), async (req) => {
    const scope = await h.scope(req);
    const execution = await getExecution(h.db, scope.api_key, req.params.uid);
    if (!execution) throw notFound('Execution');
    return { webhooks: [execution] };
  });
}

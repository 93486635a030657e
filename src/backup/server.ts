import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { HeraldError, HTTP_STATUS, invalid, notFound } from '../errors.ts';
import { errorHandler, toHeraldError } from '../http/errors.ts';
import { basicAuthMatches } from './auth.ts';
import type { BackupContext } from './context.ts';
import { diff, NOISE_KEYS } from './diff.ts';
import { fromDelivery, MODULES, snapshotOf, type BackupEvent, type Module } from './event.ts';
import { historyMarks, type HistoryMarks } from './history.ts';
import { findEntity, parseSelection, positiveInt } from './selection.ts';
import { diffPage, entitiesPage, entityPage, errorPage, LOCAL_TIME_SCRIPT, restoreConfirmPage, stacksPage, versionPage, type StackView, type VersionView } from './page.ts';
import { SourceError } from './source.ts';
import type { EntityRow } from './store.ts';

/**
 * The backup center's HTTP face:
 *
 *   POST /deliveries                                      Herald webhooks (signed, or basic auth)
 *   GET  /healthz
 *   GET  /status                                          source, cursors, open gaps, file counts
 *   GET  /stacks
 *   GET  /stacks/:api_key/entities?q=&module=&branch=&deleted=&skip=&limit=
 *   GET  /stacks/:api_key/entities/:module/:uid/versions?branch=&content_type_uid=
 *   GET  /stacks/:api_key/entities/:module/:uid/versions/:seq
 *   GET  /stacks/:api_key/entities/:module/:uid/diff?from=<seq>&to=<seq>[&all=true]
 *   GET  /stacks/:api_key/assets/:uid/files/:version      the stored bytes of an asset version (?seq=: of the asset that event belongs to)
 *   POST /stacks/:api_key/restore  {module, uid, content_type_uid?, seq?, version?, before?, locale?, incarnation?, branch?}
 *   GET  /ui/...                                          the same as HTML pages, with Restore buttons
 *
 * An entry is keyed by content type and uid (a uid given again to another content type's entry is
 * another entity): `content_type_uid` names it, needed only when the backup holds several.
 * Everything but /deliveries and /healthz takes the basic auth credentials when they are set.
 */
type Q = Record<string, string | undefined>;
type EntityParams = { api_key: string; module: string; uid: string };

export async function buildBackupApp(ctx: BackupContext): Promise<FastifyInstance> {
  const { store, config, log } = ctx;
  const app = Fastify({ logger: false, bodyLimit: config.bodyLimit });
  // Deliveries are verified over their exact bytes, so JSON is kept raw and parsed by the route.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json$/, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))));
  const renderError = errorHandler(log, []);
  app.setErrorHandler((err, req, reply) => {
    if (!req.url.startsWith('/ui')) return renderError(err, req, reply);
    const e = toHeraldError(err);
    if (e.code === 'internal') log.error({ err }, 'unhandled error');
    return reply.status(HTTP_STATUS[e.code]).type('text/html; charset=utf-8').send(errorPage(HTTP_STATUS[e.code], e.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error_message: `No route ${req.method} ${req.url.split('?')[0]}.`, error_code: 118, errors: {}, code: 'not_found' });
  });
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (path === '/deliveries' || path === '/healthz' || !config.basicAuth) return;
    if (!basicAuthMatches(req.headers.authorization, config.basicAuth)) {
      reply.header('www-authenticate', 'Basic realm="Herald backup center", charset="UTF-8"');
      throw new HeraldError('unauthorized', 'The backup center needs its basic auth credentials.');
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  // ---------------------------------------------------------------------------------------------
  // Deliveries

  app.post('/deliveries', async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
    const verdict = ctx.verify(req.headers, raw);
    if (!verdict.ok) {
      log.warn({ reason: verdict.reason, ip: req.ip }, 'delivery refused');
      throw new HeraldError('unauthorized', verdict.reason);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new HeraldError('bad_request', `The delivery body is not valid JSON: ${(err as Error).message}`, { errors: { body: ['is not valid JSON'] } });
    }
    const event = fromDelivery(body);
    const header = req.headers['webhook-id'];
    const webhookId = (Array.isArray(header) ? header[0] : header) || undefined;
    let outcome;
    try {
      outcome = await ctx.ingest.ingest(event, { webhookId });
    } catch (err) {
      // The asset file could not be fetched now: Herald retries the delivery later.
      if (err instanceof SourceError) throw new HeraldError('unavailable', `The asset file could not be downloaded yet: ${err.message}`, { retryAfter: 30, cause: err });
      throw err;
    }
    ctx.catchUp?.hint(event.api_key);
    reply.status(outcome === 'duplicate' ? 200 : 201);
    return { stored: outcome !== 'duplicate', outcome, api_key: event.api_key, seq: event.seq };
  });

  // ---------------------------------------------------------------------------------------------
  // Status and browse API

  const stackViews = (): StackView[] => store.stacks().map((s) => ({ ...s, events: store.countEvents(s.api_key), gaps: store.openGaps(s.api_key) }));
  const stackJson = (s: StackView) => ({
    api_key: s.api_key,
    events: s.events,
    feed_cursor: s.feed_cursor,
    highest_seq: s.highest_seq,
    caught_up_at: iso(s.caught_up_at),
    catch_up_error: s.catch_up_error,
    catch_up_error_at: iso(s.catch_up_error_at),
    settings_fetched_at: iso(s.settings_fetched_at),
    gaps: s.gaps.map((g) => ({ kind: g.kind, detail: g.detail, from_seq: g.from_seq, to_seq: g.to_seq, detected_at: iso(g.detected_at) })),
  });

  app.get('/status', async () => ({
    source: config.source ?? null,
    catch_up: config.source ? { interval_ms: config.catchUpIntervalMs, settle_ms: config.settleMs } : null,
    stacks: stackViews().map(stackJson),
    files: store.fileCounts(),
  }));

  app.get('/stacks', async () => ({ stacks: stackViews().map(stackJson) }));

  app.get<{ Params: { api_key: string }; Querystring: Q }>('/stacks/:api_key/entities', async (req) => {
    requireStack(ctx, req.params.api_key);
    const q = req.query;
    const module = q.module ? parseModule(q.module) : undefined;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    const skip = q.skip === undefined ? 0 : Number(q.skip);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit', 'must be a whole number from 1 to 1000');
    if (!Number.isInteger(skip) || skip < 0) throw invalid('skip', 'must be a whole number >= 0');
    const deleted = q.deleted === undefined ? undefined : parseBool(q.deleted, 'deleted');
    const list = store.entities(req.params.api_key, { branch: q.branch || 'main', module, q: q.q?.trim() || undefined, deleted, limit, skip });
    return { entities: list.entities.map(entityJson), count: list.count };
  });

  app.get<{ Params: EntityParams; Querystring: Q }>('/stacks/:api_key/entities/:module/:uid/versions', async (req) => {
    const { entity, events } = loadEntity(ctx, req.params, req.query);
    const marks = historyMarks(events);
    return { entity: entityJson(entity), versions: events.map((e) => versionJson(ctx, e, marks)) };
  });

  app.get<{ Params: EntityParams & { seq: string }; Querystring: Q }>('/stacks/:api_key/entities/:module/:uid/versions/:seq', async (req) => {
    const { events } = loadEntity(ctx, req.params, req.query);
    const e = findEvent(events, req.params.seq, 'seq');
    return { version: { ...versionJson(ctx, e, historyMarks(events)), data: e.data } };
  });

  app.get<{ Params: EntityParams; Querystring: Q }>('/stacks/:api_key/entities/:module/:uid/diff', async (req) => {
    const { entity, events } = loadEntity(ctx, req.params, req.query);
    const from = findEvent(events, req.query.from, 'from');
    const to = findEvent(events, req.query.to, 'to');
    const all = req.query.all === undefined ? false : parseBool(req.query.all, 'all');
    const changes = diff(snapshotOf(entity.module, from.data), snapshotOf(entity.module, to.data), { ignore: all ? new Set() : NOISE_KEYS });
    const marks = historyMarks(events);
    return { from: versionJson(ctx, from, marks), to: versionJson(ctx, to, marks), changes };
  });

  app.get<{ Params: { api_key: string; uid: string; version: string }; Querystring: Q }>('/stacks/:api_key/assets/:uid/files/:version', async (req, reply) => {
    requireStack(ctx, req.params.api_key);
    const version = Number(req.params.version);
    if (!Number.isInteger(version) || version < 1) throw invalid('version', 'must be a whole number >= 1');
    // ?seq= names an event of the asset: a uid can name several assets one after another, each from
    // version 1; without it, the asset the uid names now.
    let at: { seq: number } | undefined;
    if (req.query.seq !== undefined) {
      const seq = Number(req.query.seq);
      if (!Number.isInteger(seq) || seq < 1) throw invalid('seq', 'must be a whole number >= 1');
      at = { seq };
    }
    const f = store.assetFile(req.params.api_key, req.query.branch || 'main', req.params.uid, version, at);
    if (!f || f.status !== 'stored' || !f.sha256) throw notFound(`The stored file of asset ${req.params.uid} version ${version}`);
    reply
      .header('content-type', 'application/octet-stream')
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `attachment; filename="${(f.filename ?? 'file').replace(/[^\x20-\x7e]|["\\]/g, '_')}"`);
    return reply.send(createReadStream(ctx.blobs.path(f.sha256)));
  });

  app.post<{ Params: { api_key: string } }>('/stacks/:api_key/restore', async (req) => {
    requireStack(ctx, req.params.api_key);
    let body: Record<string, unknown>;
    try {
      body = Buffer.isBuffer(req.body) ? (JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>) : ((req.body ?? {}) as Record<string, unknown>);
    } catch {
      throw new HeraldError('bad_request', 'The request body is not valid JSON.', { errors: { body: ['is not valid JSON'] } });
    }
    if (typeof body !== 'object' || body === null) throw invalid('body', 'must be a JSON object');
    const module = parseModule(body.module);
    if (typeof body.uid !== 'string' || body.uid === '') throw invalid('uid', 'is required');
    const branch = typeof body.branch === 'string' && body.branch ? body.branch : 'main';
    if (body.content_type_uid !== undefined && (typeof body.content_type_uid !== 'string' || body.content_type_uid === '' || module !== 'entry')) {
      throw invalid('content_type_uid', module === 'entry' ? 'must be a content type uid' : 'names an entry\'s content type: give it with module entry only');
    }
    const sel = parseSelection({ seq: body.seq, version: body.version, before: body.before, locale: body.locale, incarnation: body.incarnation });
    return { restore: await ctx.restore(req.params.api_key, branch, module, body.uid, sel, body.content_type_uid as string | undefined) };
  });

  // ---------------------------------------------------------------------------------------------
  // Pages

  const html = (reply: FastifyReply, page: string) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'").send(page);
  const stackName = (apiKey: string) => store.stack(apiKey)?.name ?? null;

  // The pages' one script: times in the reader's time zone (the exact UTC instant stays on hover).
  app.get('/ui/local-time.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(LOCAL_TIME_SCRIPT),
  );

  app.get('/', async (_req, reply) => reply.redirect('/ui'));
  app.get('/ui', async (_req, reply) => html(reply, stacksPage(stackViews(), { source: config.source ?? null, files: store.fileCounts() })));

  app.get<{ Params: { api_key: string }; Querystring: Q }>('/ui/stacks/:api_key', async (req, reply) => {
    requireStack(ctx, req.params.api_key);
    const module = req.query.module ? parseModule(req.query.module) : undefined;
    const q = req.query.q?.trim() || undefined;
    const list = store.entities(req.params.api_key, { branch: req.query.branch || 'main', module, q, limit: 200 });
    return html(reply, entitiesPage(req.params.api_key, list, { q, module }, stackName(req.params.api_key)));
  });

  const entityView = (params: EntityParams, query: Q, result?: { report?: Awaited<ReturnType<BackupContext['restore']>>; error?: string }) => {
    const { entity, events } = loadEntity(ctx, params, query);
    const marks = historyMarks(events);
    const versions: VersionView[] = events.map((e) => versionJson(ctx, e, marks)).reverse();
    return entityPage(params.api_key, entity, versions, {
      canRestore: !!config.source,
      csrf: ctx.csrf,
      branch: entity.branch,
      stackName: stackName(params.api_key),
      heraldUrl: config.source ?? null,
      result,
    });
  };

  // Restore asks first: this page says what will come back and holds the form that does it.
  app.get<{ Params: EntityParams; Querystring: Q & { seq?: string } }>('/ui/stacks/:api_key/:module/:uid/restore', async (req, reply) => {
    const { entity, events } = loadEntity(ctx, req.params, req.query);
    if (!config.source) throw new HeraldError('conflict', 'Restoring from this page needs --source and --token.');
    const v = req.query.seq ? versionJson(ctx, findEvent(events, req.query.seq, 'seq'), historyMarks(events)) : null;
    return html(reply, restoreConfirmPage(req.params.api_key, entity, v, { csrf: ctx.csrf, branch: entity.branch, stackName: stackName(req.params.api_key) }));
  });

  app.get<{ Params: EntityParams; Querystring: Q }>('/ui/stacks/:api_key/:module/:uid', async (req, reply) => html(reply, entityView(req.params, req.query)));

  app.get<{ Params: EntityParams & { seq: string }; Querystring: Q }>('/ui/stacks/:api_key/:module/:uid/versions/:seq', async (req, reply) => {
    const { entity, events } = loadEntity(ctx, req.params, req.query);
    const e = findEvent(events, req.params.seq, 'seq');
    return html(reply, versionPage(req.params.api_key, entity, e.seq, e.data));
  });

  app.get<{ Params: EntityParams; Querystring: Q }>('/ui/stacks/:api_key/:module/:uid/diff', async (req, reply) => {
    const { entity, events } = loadEntity(ctx, req.params, req.query);
    const from = findEvent(events, req.query.from, 'from');
    const to = findEvent(events, req.query.to, 'to');
    return html(reply, diffPage(req.params.api_key, entity, from.seq, to.seq, diff(snapshotOf(entity.module, from.data), snapshotOf(entity.module, to.data), { ignore: NOISE_KEYS })));
  });

  app.post<{ Params: EntityParams; Querystring: Q }>('/ui/stacks/:api_key/:module/:uid/restore', async (req, reply) => {
    const form = (req.body ?? {}) as Record<string, string>;
    checkCsrf(ctx, req, form.csrf);
    const { entity } = loadEntity(ctx, req.params, req.query);
    let result: { report?: Awaited<ReturnType<BackupContext['restore']>>; error?: string };
    try {
      const sel = parseSelection({ seq: form.seq || undefined });
      result = { report: await ctx.restore(req.params.api_key, entity.branch, entity.module, entity.uid, sel, entity.content_type_uid ?? undefined) };
    } catch (err) {
      const e = toHeraldError(err);
      if (e.code === 'internal') log.error({ err }, 'restore from the page failed');
      result = { error: e.message };
      reply.status(HTTP_STATUS[e.code] === 401 ? 502 : HTTP_STATUS[e.code]);
    }
    return html(reply, entityView(req.params, req.query, result));
  });

  return app;
}

function iso(ms: number | null | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

function parseModule(v: unknown): Module {
  if (!MODULES.includes(v as Module)) throw invalid('module', `must be one of ${MODULES.join(', ')}`);
  return v as Module;
}

function parseBool(v: string, field: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(field, 'must be true or false');
}

function requireStack(ctx: BackupContext, apiKey: string) {
  if (!ctx.store.stack(apiKey)) throw notFound(`Stack ${apiKey} in the backup`);
}

/** The entity a path names, with `?branch=` and, for an entry, `?content_type_uid=` (needed when several content types' entries had its uid). */
function loadEntity(ctx: BackupContext, p: EntityParams, q: Q): { entity: EntityRow; events: BackupEvent[] } {
  requireStack(ctx, p.api_key);
  const module = parseModule(p.module);
  const b = q.branch || 'main';
  if (q.content_type_uid !== undefined && module !== 'entry') throw invalid('content_type_uid', "names an entry's content type: give it for entries only");
  const entity = findEntity(ctx.store, p.api_key, b, module, p.uid, q.content_type_uid || undefined, 'content_type_uid');
  if (!entity) throw notFound(`${module} ${p.uid}${q.content_type_uid ? ` of content type ${q.content_type_uid}` : ''} in the backup`);
  return { entity, events: ctx.store.eventsOf(p.api_key, b, module, p.uid, entity.content_type_uid) };
}

function findEvent(events: BackupEvent[], raw: string | undefined, field: string): BackupEvent {
  const seq = positiveInt(raw, field);
  if (seq === undefined) throw invalid(field, 'is required (an event seq of this entity)');
  const e = events.find((x) => x.seq === seq);
  if (!e) throw new HeraldError('not_found', `Event ${seq} is not part of this entity's history.`, { errors: { [field]: ['is not an event of this entity'] } });
  return e;
}

function entityJson(e: EntityRow) {
  return {
    module: e.module,
    uid: e.uid,
    branch: e.branch,
    content_type_uid: e.content_type_uid,
    title: e.title,
    deleted: e.deleted,
    lines: e.lines,
    // The events of the entity the uid names now; `incarnations`: how many entities it named one after another.
    versions: e.events,
    incarnations: e.incarnations,
    last_seq: e.last_seq,
    last_action: e.last_action,
  };
}

/** One event of an entity's history; `remade`: a create there begins another entity under the uid; `incarnation`: which one it is of, from 1. */
function versionJson(ctx: BackupContext, e: BackupEvent, marks: HistoryMarks) {
  const file = e.module === 'asset' && e.version !== null ? ctx.store.assetFile(e.api_key, e.branch, e.uid, e.version, e) : undefined;
  return {
    seq: e.seq,
    action: e.action,
    line: e.line,
    locale: e.locale,
    environment: e.environment,
    version: e.version,
    title: e.title,
    actor: e.actor,
    actor_name: e.actor_name,
    created_at: e.created_at,
    origin: e.origin,
    partial: e.partial,
    remade: marks.remade.has(e.seq),
    incarnation: marks.incarnation.get(e.seq) ?? 1,
    file: file ? { status: file.status, sha256: file.sha256, size: file.size, problem: file.problem } : null,
  };
}

/** A restore form must carry this process's token, and not come from another site. */
function checkCsrf(ctx: BackupContext, req: FastifyRequest, token: string | undefined) {
  const site = req.headers['sec-fetch-site'];
  const a = Buffer.from(String(token ?? ''));
  const b = Buffer.from(ctx.csrf);
  if (site === 'cross-site' || a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new HeraldError('forbidden', 'This restore form is stale or did not come from the backup center: reload the page and try again.');
  }
}

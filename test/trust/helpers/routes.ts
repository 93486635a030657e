import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ABSENT_MODULES } from '../../../src/http/routes/absent-modules.ts';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../src/config.ts';
import { startHerald, type TestHerald } from '../../helpers/herald.ts';

/** One route as the server registered it: `GET /v3/webhooks/:uid`. */
export interface Route {
  method: string;
  url: string;
}

/**
 * Starts Herald and returns it with every route its app registered, as fastify saw them (including
 * the HEAD routes it adds for GET). Fastify announces each new instance on the
 * `fastify.initialization` diagnostics channel before any route is added, so an onRoute hook
 * attached there sees them all; nothing in Herald is changed for the test.
 */
export async function startHeraldWithRoutes(settings: Parameters<typeof startHerald>[0] = {}): Promise<{ h: TestHerald; routes: Route[] }> {
  const seen = new Map<FastifyInstance, Route[]>();
  const onInit = (message: unknown) => {
    const app = (message as { fastify: FastifyInstance }).fastify;
    const list: Route[] = [];
    seen.set(app, list);
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) list.push({ method, url: r.url });
    });
  };
  subscribe('fastify.initialization', onInit);
  let h: TestHerald;
  try {
    h = await startHerald(settings);
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  const routes = seen.get(h.app);
  if (!routes) throw new Error('the app was built without announcing itself on fastify.initialization');
  return { h, routes: dedupe(routes) };
}

function dedupe(routes: Route[]): Route[] {
  const keys = new Set<string>();
  return routes.filter((r) => {
    const k = `${r.method} ${r.url}`;
    if (keys.has(k)) return false;
    keys.add(k);
    return true;
  });
}

export const routeKey = (r: Route) => `${r.method} ${r.url}`;

/** Settings for servers that must not rate-limit the test's own traffic. */
export const UNLIMITED: Partial<Config> = { rateLimit: 0 };

/**
 * Routes that act on no stack: open to anyone (or guarded by their own token), so a stack's token
 * has nothing to be refused there. Each says why.
 */
export const NOT_STACK_ROUTES: Record<string, string> = {
  '/healthz': 'liveness, no data',
  '/readyz': 'readiness: whether the store answers and the dispatcher runs, no stack data',
  '/metrics': 'process-wide counters, no stack names or ids (optionally behind its own token)',
  '/': 'the web app page (static)',
  '/app/app.js': 'the web app bundle (static)',
  '/app/app.css': 'the web app styles (static)',
  '/v3/openapi.json': 'the API description (the same for everyone)',
  '/docs': 'the API reference page (static)',
  '/v3/assets/:api_key/:uid/:cap/:filename': 'an asset file at its capability URL: public by design, the unguessable capability is the permission (no token is read)',
};

/** Ids of one stack's resources, to fill route parameters with. */
export interface RouteIds {
  api_key: string;
  token_uid: string;
  environment: string;
  locale: string;
  branch: string;
  content_type: string;
  global_field: string;
  entry: string;
  asset: string;
  asset_filename: string;
  webhook: string;
  execution: string;
  attempt: string;
}

/**
 * The concrete path of `url` (a registered route pattern) acting on the resources in `ids`, or null
 * when this function does not know the route: a new route must be added here, so every sweep over
 * the routes (another stack's token, fuzzing) covers it.
 */
export function fillRoute(url: string, ids: RouteIds): string | null {
  if (url in NOT_STACK_ROUTES) return url;
  const ct = `/v3/content_types/${ids.content_type}`;
  const entry = `${ct}/entries/${ids.entry}`;
  const v3: Record<string, string> = {
    '/v3/stacks': '/v3/stacks',
    '/v3/stacks/management_tokens': '/v3/stacks/management_tokens',
    '/v3/stacks/management_tokens/:uid': `/v3/stacks/management_tokens/${ids.token_uid}`,
    '/v3/stacks/branches': '/v3/stacks/branches',
    '/v3/stacks/branches/:uid': `/v3/stacks/branches/${ids.branch}`,
    '/v3/events': '/v3/events',
    '/v3/herald/branches': '/v3/herald/branches',
    '/v3/webhooks': '/v3/webhooks',
    '/v3/webhooks/:uid': `/v3/webhooks/${ids.webhook}`,
    '/v3/webhooks/:uid/enable': `/v3/webhooks/${ids.webhook}/enable`,
    '/v3/webhooks/:uid/disable': `/v3/webhooks/${ids.webhook}/disable`,
    '/v3/webhooks/:uid/secret': `/v3/webhooks/${ids.webhook}/secret`,
    '/v3/webhooks/:uid/secret/rotate': `/v3/webhooks/${ids.webhook}/secret/rotate`,
    '/v3/webhooks/:uid/executions': `/v3/webhooks/${ids.webhook}/executions`,
    '/v3/webhooks/:uid/stats': `/v3/webhooks/${ids.webhook}/stats`,
    '/v3/webhooks/:uid/retry': `/v3/webhooks/${ids.webhook}/retry`,
    '/v3/webhooks/:uid/test': `/v3/webhooks/${ids.webhook}/test`,
    '/v3/webhooks/:uid/replay': `/v3/webhooks/${ids.webhook}/replay`,
    // No job of that name: another stack's caller must get the same 404 as for a real one.
    '/v3/webhooks/:uid/replays/:job': `/v3/webhooks/${ids.webhook}/replays/rpl_000000000000000000000000`,
    '/v3/webhooks/preview': '/v3/webhooks/preview',
    '/v3/webhooks/schemas': '/v3/webhooks/schemas',
    '/v3/webhooks/listen': '/v3/webhooks/listen',
    '/v3/asyncapi.json': '/v3/asyncapi.json',
    '/v3/stacks/delivery_tokens': '/v3/stacks/delivery_tokens',
    '/v3/stacks/delivery_tokens/:uid': '/v3/stacks/delivery_tokens/blt0000000000000000',
    '/v3/stacks/sync': '/v3/stacks/sync?init=true',
    // The Contentstack path names an execution here, not a webhook.
    '/v3/webhooks/:uid/logs': `/v3/webhooks/${ids.execution}/logs`,
    '/v3/environments': '/v3/environments',
    '/v3/environments/:name': `/v3/environments/${ids.environment}`,
    '/v3/locales': '/v3/locales',
    '/v3/locales/:code': `/v3/locales/${ids.locale}`,
    '/v3/content_types': '/v3/content_types',
    '/v3/content_types/:uid': ct,
    '/v3/global_fields': '/v3/global_fields',
    '/v3/global_fields/:uid': `/v3/global_fields/${ids.global_field}`,
    '/v3/content_types/:content_type_uid/entries': `${ct}/entries`,
    '/v3/content_types/:content_type_uid/entries/:uid': entry,
    '/v3/content_types/:content_type_uid/entries/:uid/versions': `${entry}/versions`,
    '/v3/content_types/:content_type_uid/entries/:uid/publish': `${entry}/publish`,
    '/v3/content_types/:content_type_uid/entries/:uid/unpublish': `${entry}/unpublish`,
    '/v3/content_types/:content_type_uid/entries/:uid/archive': `${entry}/archive`,
    '/v3/content_types/:content_type_uid/entries/:uid/unarchive': `${entry}/unarchive`,
    '/v3/assets': '/v3/assets',
    '/v3/assets/:uid': `/v3/assets/${ids.asset}`,
    '/v3/assets/:uid/download': `/v3/assets/${ids.asset}/download`,
    '/v3/assets/:api_key/:uid/:filename': `/v3/assets/${ids.api_key}/${ids.asset}/${ids.asset_filename}`,
    '/v3/assets/:uid/publish': `/v3/assets/${ids.asset}/publish`,
    '/v3/assets/:uid/unpublish': `/v3/assets/${ids.asset}/unpublish`,
    '/v3/assets/:uid/archive': `/v3/assets/${ids.asset}/archive`,
    '/v3/assets/:uid/unarchive': `/v3/assets/${ids.asset}/unarchive`,
    '/v3/bulk/publish': '/v3/bulk/publish',
    '/v3/bulk/unpublish': '/v3/bulk/unpublish',
    '/v3/bulk/delete': '/v3/bulk/delete',
    '/v3/bulk/jobs/:job_id': '/v3/bulk/jobs/00000000-0000-4000-8000-000000000000',
    '/v3/bulk/jobs/:job_id/items': '/v3/bulk/jobs/00000000-0000-4000-8000-000000000000/items',
    '/v3/publish-queue': '/v3/publish-queue',
    '/v3/publish-queue/:uid/unschedule': '/v3/publish-queue/00000000-0000-4000-8000-000000000000/unschedule',
  };
  if (url in v3) return v3[url]!;
  // Modules Herald does not have: empty lists, 404 for one, 422 for a create (absent-modules.ts).
  const absent = ABSENT_MODULES.find((m) => url === m.path || url === `${m.path}/:uid`);
  if (absent) return url.replace(':uid', 'blt0000000000000000');
  // The Contentful dialect: the space is the stack, `master` its main environment, a webhook's
  // calls are its attempts; each `:param` names a member of the collection before it. Its
  // catch-all (`/spaces/*`) answers paths it does not serve.
  if (url.startsWith('/spaces/')) {
    const member: Record<string, string> = {
      spaces: ids.api_key,
      environments: 'master',
      webhook_definitions: ids.webhook,
      webhooks: ids.webhook,
      calls: ids.attempt,
      content_types: ids.content_type,
      entries: ids.entry,
      assets: ids.asset,
      uploads: ids.asset,
      files: 'en-US',
      locales: 'blt0000000000000000',
      tags: 'sometag',
      api_keys: 'blt0000000000000000',
      preview_api_keys: 'blt0000000000000000',
    };
    const segments = url.replace('*', `${ids.api_key}/environments/master/entries/${ids.entry}`).split('/');
    const filled: Array<string | null> = segments.map((seg, i) => (seg.startsWith(':') ? member[segments[i - 1]!] ?? null : seg));
    return filled.includes(null) ? null : filled.join('/');
  }
  return null;
}

/** The ids in `ids` that name one resource (not a name another stack may also use, like `blog`). */
export function uniqueIds(ids: RouteIds): string[] {
  return [ids.entry, ids.asset, ids.webhook, ids.execution, ids.attempt, ids.token_uid];
}

/**
 * A body the route would accept from the stack that owns `victim`'s resources, so that a refusal
 * can only come from the caller not owning them.
 */
export function validBody(url: string, victim: Pick<RouteIds, 'environment' | 'execution'>): unknown {
  const publish = { environments: [victim.environment], locales: ['en-us'] };
  const rules: Array<[RegExp, unknown]> = [
    [/^\/v3\/webhooks$/, { webhook: { name: 'stolen', channels: ['*.*'], destinations: [{ target_url: 'https://hooks.example.com/stolen' }] } }],
    [/^\/v3\/webhooks\/:uid$/, { webhook: { name: 'stolen' } }],
    [/^\/v3\/webhooks\/preview$/, { webhook: { name: 'stolen', channels: ['*.*'], destinations: [{ target_url: 'https://hooks.example.com/stolen' }] } }],
    [/\/retry$/, { execution_uid: victim.execution }],
    [/^\/v3\/bulk\/(un)?publish$/, { entries: [{ uid: 'blt0000000000000000', content_type: 'blog' }], environments: [victim.environment], locales: ['en-us'] }],
    [/^\/v3\/bulk\/delete$/, { entries: [{ uid: 'blt0000000000000000', content_type: 'blog', locale: 'en-us' }] }],
    [/\/replay$/, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', mode: 'failed' }],
    [/\/entries\/:uid\/(un)?publish$/, { entry: publish }],
    [/\/entries(\/:uid)?$/, { entry: { title: 'stolen' } }],
    [/^\/v3\/assets\/:uid\/(un)?publish$/, { asset: publish }],
    [/^\/v3\/assets/, { asset: { title: 'stolen' } }],
    [/^\/v3\/global_fields/, { global_field: { title: 'Stolen', uid: 'stolen', schema: [{ uid: 'meta_title', display_name: 'Meta title', data_type: 'text' }] } }],
    [/^\/v3\/content_types/, { content_type: { title: 'Stolen', uid: 'stolen', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }],
    [/^\/v3\/environments/, { environment: { name: 'stolen' } }],
    [/^\/v3\/locales/, { locale: { code: 'de-de', name: 'stolen' } }],
    [/^\/v3\/stacks\/branches/, { branch: { uid: 'stolen', source: 'main' } }],
    [/^\/v3\/stacks\/management_tokens/, { token: { name: 'stolen' } }],
    [/^\/v3\/stacks$/, { stack: { name: 'stolen' } }],
    [/webhook_definitions/, { name: 'stolen', url: 'https://hooks.example.com/stolen', topics: ['*.*'] }],
    [/signing_secret$/, { value: 'x'.repeat(64) }],
    [/retry_policy$/, { maxRetries: 1 }],
  ];
  return rules.find(([re]) => re.test(url))?.[1] ?? {};
}

import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import type { Herald } from '../herald.ts';
import { errorHandler, type ErrorRenderer } from './errors.ts';
import { registerRateLimit } from './rate-limit.ts';
import { parseJsonBody } from './json-body.ts';
import { settleUnreadBodies } from './unread-body.ts';
import { registerQueryCheck } from './query-check.ts';
import { HeraldError } from '../errors.ts';
import { requestLogger } from '../ops/log.ts';
import stackRoutes from './routes/stacks.ts';
import eventRoutes from './routes/events.ts';
import executionRoutes from './routes/executions.ts';
import webhookRoutes from './routes/webhooks.ts';
import webhookToolRoutes from './routes/webhook-tools.ts';
import replayRoutes from './routes/replays.ts';
import listenRoutes from './routes/listen.ts';
import environmentRoutes from './routes/environments.ts';
import localeRoutes from './routes/locales.ts';
import branchRoutes from './routes/branches.ts';
import contentTypeRoutes from './routes/content-types.ts';
import globalFieldRoutes from './routes/global-fields.ts';
import entryRoutes from './routes/entries.ts';
import assetRoutes from './routes/assets.ts';
import bulkRoutes from './routes/bulk.ts';
import publishQueueRoutes from './routes/publish-queue.ts';
import absentModuleRoutes from './routes/absent-modules.ts';
import assetFileRoutes from './routes/asset-files.ts';
import deliveryTokenRoutes from './routes/delivery-tokens.ts';
import deliveryRoutes from './routes/delivery.ts';
import contentfulDeliveryRoutes from './routes/contentful-delivery.ts';
import { credentialConstraint } from './credential.ts';
import { moveQueryToken } from './query-token.ts';
import webRoutes from './routes/web.ts';
import metricsRoutes from './routes/metrics.ts';
import healthRoutes from './routes/health.ts';
import openapiRoutes, { collectRoutes } from './routes/openapi.ts';
// Contentful dialect (/spaces/...): its routes and its error shape.
import { renderContentful } from '../contentful/errors.ts';
import contentfulSpaceRoutes from './routes/contentful-space.ts';
import contentfulWebhookRoutes from './routes/contentful-webhooks.ts';
import contentfulContentRoutes from './routes/contentful-content.ts';
import contentfulAssetRoutes from './routes/contentful-assets.ts';
import contentfulEnvironmentRoutes from './routes/contentful-environments.ts';

/** A module of routes: registers its routes on the app, with the Herald it serves. */
export type Routes = (app: FastifyInstance, herald: Herald) => void | Promise<void>;

/** Route modules, in registration order. A new area of the API adds its module here. */
const ROUTES: Routes[] = [
  stackRoutes,
  eventRoutes,
  webhookRoutes,
  executionRoutes,
  webhookToolRoutes,
  replayRoutes,
  listenRoutes,
  environmentRoutes,
  localeRoutes,
  branchRoutes,
  contentTypeRoutes,
  globalFieldRoutes,
  entryRoutes,
  assetRoutes,
  bulkRoutes,
  publishQueueRoutes,
  absentModuleRoutes,
  assetFileRoutes,
  deliveryTokenRoutes,
  deliveryRoutes,
  metricsRoutes,
  contentfulSpaceRoutes,
  contentfulWebhookRoutes,
  contentfulContentRoutes,
  contentfulAssetRoutes,
  contentfulEnvironmentRoutes,
  contentfulDeliveryRoutes,
  openapiRoutes,
  webRoutes,
];

/** Error renderers by URL prefix; the Contentstack shape is the default. */
const RENDERERS: Array<{ prefix: string; render: ErrorRenderer }> = [{ prefix: '/spaces/', render: renderContentful }];

/** TLS material for HTTPS (src/http/origin.ts tlsOptions); absent: plain HTTP. */
export interface ServeOptions {
  https?: { cert: Buffer; key: Buffer };
}

export async function buildApp(herald: Herald, serve: ServeOptions = {}): Promise<FastifyInstance> {
  // `https` changes Fastify's server type parameter; routes see the common FastifyInstance.
  const app = Fastify({
    ...(serve.https ? { https: serve.https } : {}),
    // Whose X-Forwarded-* headers set req.protocol, req.host and req.ip (HERALD_TRUST_PROXY).
    trustProxy: herald.config.trustProxy,
    logger: false,
    bodyLimit: herald.config.bodyLimit,
    // Contentstack's clients send `api_key` and `authtoken` headers with underscores.
    // Request ids come from the client when it sends one (tracing), else are generated.
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // strictTypes off: body envelopes leave their root untyped on purpose (src/http/schemas.ts).
    // Delivery and management requests share paths; the credential picks the route (credential.ts).
    routerOptions: { constraints: { credential: credentialConstraint } },
    // Contentful's `?access_token=` becomes `Authorization: Bearer` before routing (query-token.ts).
    rewriteUrl: moveQueryToken,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, strictTypes: false } },
  }) as unknown as FastifyInstance;
  // Before any route: /v3/openapi.json describes every route registered from here on.
  collectRoutes(app);
  // Every line logged while serving requests carries its request id; those logged through req.log
  // go through Herald's logger, which cannot print credentials or secrets (src/ops/log.ts).
  const log = herald.log;
  // The line each request ends with carries its id, method, path, status and time: primitives, none
  // a secret by name, which redaction leaves as they are; so it is written without pino's redaction
  // pass, which with the wildcard paths (src/ops/log.ts) cost ~50 us a line, paid by every request
  // at the default level (info), against ~2 us.
  const requestLines = log.child({}, { redact: { paths: [] } });
  // Callback hooks, not async ones: each async hook costs a promise and its turn per request.
  app.addHook('onRequest', (req, _reply, done) => {
    req.log = requestLogger(log, req.id) as typeof req.log;
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (requestLines.isLevelEnabled('info')) {
      requestLines.info({ reqId: req.id, method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    }
    done();
  });
  // A request refused before its body was read leaves its connection usable (or closes it).
  settleUnreadBodies(app);
  app.setErrorHandler(errorHandler(log, RENDERERS));
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error_message: `No route ${req.method} ${req.url.split('?')[0]}.`, error_code: 118, errors: {}, code: 'not_found' });
  });

  // JSON bodies: Contentstack's `application/json` and Contentful's
  // `application/vnd.contentful.management.v1+json`. An empty body is `{}` (clients send
  // `Content-Type: application/json` on DELETE with no body).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    /^application\/([\w.+-]+\+)?json$/,
    { parseAs: 'string', bodyLimit: herald.config.bodyLimit },
    (_req, body, done) => {
      let value: unknown;
      try {
        value = parseJsonBody(String(body));
      } catch (err) {
        return done(err as HeraldError, undefined);
      }
      done(null, value);
    },
  );
  // Multipart bodies are read only by the asset routes (req.parts()), which get @fastify/multipart
  // in a context of their own (below): its onResponse hook, an async function (3 promises, ~0.5 KB
  // per request), ran for every request. Any other route takes a multipart body unread, as the
  // plugin's parser left it (the body undefined; unread-body.ts drains it).
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
  // Before the routes: it limits every route registered after it (see rate-limit.ts).
  await registerRateLimit(app, herald.config);
  // /v3/...: a query parameter the route does not implement is a 422 naming it (reads and writes).
  registerQueryCheck(app);

  healthRoutes(app, herald);
  for (const routes of ROUTES) {
    if (routes !== assetRoutes) await routes(app, herald);
    // The asset routes' own context: it has every hook added above; those added by later route
    // modules (contentful-space.ts's, which act on /spaces/ only) do not reach /v3/assets.
    else
      await app.register(async (assets) => {
        assets.removeContentTypeParser('multipart/form-data');
        await assets.register(multipart, { limits: { fileSize: herald.config.assetLimit, files: 1, fields: 50 }, throwFileSizeLimit: true });
        await routes(assets, herald);
      });
  }
  return app;
}

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { HeraldError, HTTP_STATUS, invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { bltUid } from '../../ids.ts';
import { MAX_FRAME_BYTES, RELAY_TARGET } from '../../delivery/relay.ts';
import { createTargetPolicy } from '../../net/target.ts';
import { isRelayWebhook } from '../../webhooks/relay-target.ts';
import { validateWebhook } from '../../webhooks/validate.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { formatNames } from '../../delivery/formats/index.ts';
import { renderContentstack, toHeraldError } from '../errors.ts';
import { doc, Query, TAGS, Text } from '../schemas.ts';

/** Where `herald listen` connects (a WebSocket upgrade of a GET). */
export const LISTEN_PATH = '/v3/webhooks/listen';
/** How long a temporary webhook outlives its listener's last renewal, ms. */
const TEMPORARY_TTL_MS = 2 * 60_000;
/** How often listeners' temporary webhooks are renewed and abandoned ones deleted, ms. */
const RENEW_EVERY_MS = 30_000;
/** WebSocket pings, ms: a listener whose pong does not come back by the next ping is dropped. */
const PING_EVERY_MS = 30_000;

const LISTEN = Query({
  webhook: Text('a relay webhook to listen to (its target_url is "relay:")'),
  channels: Text('instead of webhook: channels, comma-separated, for a temporary relay webhook that lives as long as the connection'),
  branches: Text('with channels: branches, comma-separated (default main)'),
});

/**
 * GET /v3/webhooks/listen (WebSocket): `herald listen` connects here, authenticated as any
 * management request (`api_key` and `authorization` headers), and receives the deliveries of one
 * relay webhook (`?webhook=UID`) or of a temporary one made for the connection
 * (`?channels=a,b[&branches=main]`), which is deleted when the connection closes, or, if this
 * process died meanwhile, by any process once nobody renewed it for 2 minutes. The transport
 * itself is delivery/relay.ts. A GET without `Upgrade: websocket` gets 426.
 */
export default function listenRoutes(app: FastifyInstance, h: Herald) {
  const policy = createTargetPolicy(h.config.allowPrivateTargets);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  /** Temporary webhooks whose listener is connected to this process. */
  const temporary = new Set<string>();

  // Without Upgrade: the stack's relay webhooks and their listeners on this process (the upgrade
  // handler below takes WebSocket requests before routing).
  app.get(LISTEN_PATH, doc(TAGS.webhooks, "herald listen's WebSocket (with Upgrade: websocket: relays deliveries); a plain GET lists the stack's relay webhooks and their listeners on this process", { querystring: LISTEN }), async (req) => {
    const scope = await h.scope(req);
    const all = await h.webhooks.list(scope.api_key, { skip: 0, limit: Number.MAX_SAFE_INTEGER });
    return {
      relay_webhooks: all.filter(isRelayWebhook).map((w) => ({ uid: w.uid, name: w.name, channels: w.channels, disabled: w.disabled, listeners: h.delivery.relay.listeners(w.uid) })),
    };
  });

  const refuse = (socket: Duplex, err: unknown) => {
    const e = toHeraldError(err);
    const status = HTTP_STATUS[e.code] ?? 500;
    const body = JSON.stringify(renderContentstack(e));
    socket.end(`HTTP/1.1 ${status} ${e.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://herald.invalid');
    if (url.pathname !== LISTEN_PATH) return refuse(socket, new HeraldError('not_found', `No WebSocket at ${url.pathname}.`));
    void (async () => {
      try {
        // Only the headers are read (api_key, authorization / authtoken, branch).
        const scope = await h.scope({ headers: req.headers } as FastifyRequest);
        const uid = url.searchParams.get('webhook');
        const channels = url.searchParams.get('channels');
        if ((uid === null) === (channels === null)) throw invalid('webhook', 'or channels is required (one of them)');
        let webhook: Webhook;
        if (uid !== null) {
          const w = await h.webhooks.get(scope.api_key, uid);
          if (!w) throw notFound('Webhook');
          if (!isRelayWebhook(w)) {
            throw invalid('webhook', `sends to ${w.destinations[0]?.target_url}: only a relay webhook (target_url "${RELAY_TARGET}") can be listened to; create one, or pass channels for a temporary one`);
          }
          webhook = w;
        } else {
          const branches = url.searchParams.get('branches');
          const body = {
            webhook: {
              name: `herald listen (${new Date().toISOString()})`,
              destinations: [{ target_url: RELAY_TARGET }],
              channels: channels!.split(',').map((c) => c.trim()).filter(Boolean),
              ...(branches ? { branches: branches.split(',').map((b) => b.trim()).filter(Boolean) } : {}),
            },
          };
          const now = Date.now();
          webhook = await h.webhooks.change(scope.api_key, async (c) => {
            const def = await validateWebhook(c.tx, scope.api_key, body, { policy, now, formats: formatNames() });
            const w: Webhook = { uid: bltUid(), api_key: scope.api_key, ...def, disabled_reason: null, created_at: now, updated_at: now, version: 1 };
            await c.create(w);
            await c.markTemporary(w.uid, now + TEMPORARY_TTL_MS);
            return w;
          });
          temporary.add(webhook.uid);
        }
        wss.handleUpgrade(req, socket, head, (ws) => serve(ws, webhook, uid === null));
      } catch (err) {
        refuse(socket, err);
      }
    })();
  });

  function serve(ws: WebSocket, webhook: Webhook, isTemporary: boolean) {
    const detach = h.delivery.relay.attach(webhook.uid, ws);
    h.log.info({ webhook: webhook.uid, temporary: isTemporary }, 'herald listen connected');
    ws.send(JSON.stringify({ type: 'hello', webhook: { uid: webhook.uid, name: webhook.name, channels: webhook.channels, temporary: isTemporary } }));
    // Deliveries that failed while nobody listened are retried on their schedule (the next one
    // goes at its retry time); anything already due is claimed now.
    h.delivery.wake();
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, PING_EVERY_MS);
    ping.unref();
    ws.on('error', () => {});
    ws.on('close', () => {
      clearInterval(ping);
      detach();
      h.log.info({ webhook: webhook.uid, temporary: isTemporary }, 'herald listen disconnected');
      if (!isTemporary) return;
      temporary.delete(webhook.uid);
      h.webhooks.change(webhook.api_key, (c) => c.delete(webhook.uid)).catch((err) => h.log.warn({ err, webhook: webhook.uid }, 'deleting a temporary webhook failed; it is deleted once it expires'));
    });
  }

  // Renew this process's temporary webhooks; delete those nobody renewed (their process died).
  const renew = setInterval(() => {
    const now = Date.now();
    void (async () => {
      if (temporary.size) await h.webhooks.renewTemporary([...temporary], now + TEMPORARY_TTL_MS);
      for (const w of await h.webhooks.expiredTemporary(now)) {
        await h.webhooks.change(w.api_key, (c) => c.delete(w.uid));
        h.log.info({ webhook: w.uid }, 'deleted a temporary herald listen webhook whose listener is gone');
      }
    })().catch((err) => h.log.warn({ err }, 'renewing temporary herald listen webhooks failed; trying again'));
  }, RENEW_EVERY_MS);
  renew.unref();
  app.addHook('onClose', async () => {
    clearInterval(renew);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
}

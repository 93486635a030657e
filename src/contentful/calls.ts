import type { AttemptDetails, AttemptSummary } from '../delivery/log.ts';
import { link } from './entities.ts';
import { contentfulWebhookId } from './webhooks.ts';

/**
 * The activity log in Contentful's words (pure): each attempt is a "call" of the webhook. The
 * overview lists status code, errors, event type, URL and times; the details add the request
 * (headers as logged, secrets masked; body as sent) and the response.
 */

/** Contentful-style error names for failed calls, by Herald's attempt outcome. */
const ERROR_NAMES: Record<string, string> = {
  http_error: 'HttpError',
  redirect: 'RedirectError',
  timeout: 'TimeoutError',
  refused: 'ConnectionRefusedError',
  dns: 'NameResolutionError',
  blocked: 'BlockedTargetError',
  network: 'NetworkError',
  rejected: 'RejectedError',
};

/** The action as Contentful names it in `eventType` (`update` is Contentful's `save`). */
export function eventType(action: string): string {
  return action === 'update' ? 'save' : action;
}

export function callOverview(a: AttemptSummary, webhook: { uid: string; api_key: string }) {
  const requestAt = new Date(a.started_at).toISOString();
  return {
    sys: {
      type: 'WebhookCallOverview',
      id: a.uid,
      createdBy: link('WebhookDefinition', contentfulWebhookId(webhook)),
      space: link('Space', webhook.api_key),
      createdAt: requestAt,
    },
    statusCode: a.status_code,
    errors: a.outcome === 'success' ? [] : [ERROR_NAMES[a.outcome] ?? 'Error'],
    /** Herald's words for what went wrong (e.g. "connection refused"); null on success. */
    reason: a.reason,
    eventType: eventType(a.action),
    url: a.url,
    requestAt,
    responseAt: new Date(a.started_at + a.duration_ms).toISOString(),
  };
}

export function callDetails(a: AttemptDetails, webhook: { uid: string; api_key: string }) {
  const overview = callOverview(a, webhook);
  const res = a.response as { status?: number | null; headers?: Record<string, unknown>; body?: string; encoding?: string; truncated?: boolean } | null;
  return {
    ...overview,
    sys: { ...overview.sys, type: 'WebhookCallDetails' },
    request: a.request
      ? { url: a.request.url, method: a.request.method, headers: a.request.headers, body: a.request.body, truncated: a.request.truncated }
      : null,
    response: res
      ? { url: a.url, statusCode: res.status ?? a.status_code, headers: res.headers ?? {}, body: res.body ?? '', encoding: res.encoding ?? 'utf8', truncated: res.truncated ?? false }
      : null,
  };
}

import { mask } from '../auth/secrets.ts';
import type { Webhook } from './webhook.ts';
import { presentEndpointAuth } from './endpoint-auth.ts';
import { presentTargetUrl } from './targets.ts';

/**
 * The one place a Webhook becomes what the API returns (Contentstack's shape). Secrets never leave
 * through here: the basic auth password and secret header values are masked (`****abcd`), signing
 * secrets are left out entirely (only `GET /v3/webhooks/{uid}/secret` shows them). A broker URL's
 * password, an OAuth client secret, a bearer token and a TLS client key are masked too.
 */
export interface PresentedWebhook {
  uid: string;
  name: string;
  destinations: Array<{
    target_url: string;
    http_basic_auth: string;
    http_basic_password: string;
    custom_header: Array<{ header_name: string; value: string; secret?: true }>;
    /** `None`, `Basic`, `OAuth2` or `Bearer`, and the fields of that kind (endpoint-auth.ts), secrets masked. */
    authentication_type: string;
    [endpointAuth: string]: unknown;
  }>;
  channels: string[];
  branches: string[];
  /** Every branch, those made later too (Webhook.all_branches); only when set. */
  all_branches?: true;
  conditions: Webhook['conditions'];
  retry_policy: string;
  disabled: boolean;
  disabled_reason: string | null;
  /** Secrets only masks were given for (the webhook stays disabled until they are sent); absent when none. */
  missing_secrets?: string[];
  concise_payload: boolean;
  format: Webhook['format'];
  notifiers: string[];
  /** Only when the webhook set some (CloudEvents' mode). */
  format_options?: Record<string, unknown>;
  /** Event storms (#20): null / 0 when off. */
  batch: { max_events: number; window_ms: number } | null;
  debounce_ms: number;
  rate_limit: { max: number; per: 'second' | 'minute' } | null;
  created_at: string;
  updated_at: string;
}

export function presentWebhook(w: Webhook): PresentedWebhook {
  return {
    uid: w.uid,
    name: w.name,
    destinations: w.destinations.map((d) => ({
      target_url: presentTargetUrl(d.target_url),
      http_basic_auth: d.http_basic_auth ?? '',
      http_basic_password: mask(d.http_basic_password) ?? '',
      custom_header: d.custom_header.map((h) =>
        h.secret ? { header_name: h.header_name, value: mask(h.value) ?? '', secret: true as const } : { header_name: h.header_name, value: h.value },
      ),
      ...presentEndpointAuth(d),
    })) as PresentedWebhook['destinations'],
    channels: [...w.channels],
    branches: [...w.branches],
    ...(w.all_branches ? { all_branches: true as const } : {}),
    conditions: w.conditions,
    retry_policy: w.retry_policy,
    disabled: w.disabled,
    disabled_reason: w.disabled_reason,
    ...(w.missing_secrets?.length ? { missing_secrets: [...w.missing_secrets] } : {}),
    concise_payload: w.concise_payload,
    format: w.format,
    notifiers: [...(w.notifiers ?? [])],
    ...(w.format_options ? { format_options: w.format_options } : {}),
    batch: w.batch ?? null,
    debounce_ms: w.debounce_ms ?? 0,
    rate_limit: w.rate_limit ?? null,
    created_at: new Date(w.created_at).toISOString(),
    updated_at: new Date(w.updated_at).toISOString(),
  };
}

import type { ContentTypeDoc } from '../../content/content-types.ts';
import type { Action, HeraldEvent, Module } from '../../events/event.ts';
import type { Queryable } from '../../store/db.ts';
import type { Webhook } from '../../webhooks/webhook.ts';

/**
 * A delivery format: what a webhook's receiver gets for an event (method, headers, body), how
 * often a failed delivery is tried again, and how an attempt shows in the activity log. The engine
 * (dispatcher, request, log) sees only this interface; a webhook names its format in `format`,
 * and formats are registered by name in index.ts.
 *
 * Herald's own headers (delivery id, Standard Webhooks signature, basic auth, custom headers) go
 * with every format; a format adds its own after them.
 */
export interface DeliveryFormat {
  /** The name a webhook's `format` holds, e.g. `contentstack`. */
  name: string;
  /** How the event catalog and the AsyncAPI document name the format (`Contentful`); default: `name`. */
  title?: string;
  /**
   * What one attempt needs, read per attempt (so a changed setting applies to the next one). A
   * format that needs nothing from the store returns at once.
   */
  prepare(q: Queryable, event: HeraldEvent, webhook: Webhook, engine: EngineSettings): PreparedDelivery | Promise<PreparedDelivery>;
  /** The body an attempt sent, rebuilt byte for byte from its event and what `logged` stored (the log keeps no bodies). */
  loggedBody(event: HeraldEvent, logged: Record<string, unknown>, limits?: BodyLimits): string;
  /**
   * The options a webhook of this format may set in `format_options` (e.g. CloudEvents' `mode`),
   * checked when the webhook is saved: the options to store (defaults filled in), or a problem per
   * option name (the 422 names `format_options.<name>`). Absent: the format takes no options, and
   * a webhook that sends some is refused.
   */
  options?(given: Record<string, unknown>): { options: Record<string, unknown> } | { problems: Record<string, string> };
  /**
   * This format's payloads of one kind of event, for the event catalog (GET /v3/webhooks/schemas,
   * /v3/asyncapi.json); one per variant the format's options choose between, none for kinds the
   * format never sends. Absent: the catalog does not list the format.
   */
  describe?(kind: CatalogKind): CatalogPayload[];
}

/** One kind of event, as the catalog asks a format to describe it. */
export interface CatalogKind {
  module: Module;
  action: Action;
  /** Entries: their content type (fields typed from its schema); null for other modules. */
  contentType: ContentTypeDoc | null;
  /** The stack's master locale (what examples are keyed by). */
  masterLocale: string;
  /** An example event of this kind (what the example payload is built from). */
  event: HeraldEvent;
  /** Herald's own (Contentstack) payload of this kind: its JSON Schema (draft-07) and example. */
  contentstack: { schema: Record<string, unknown>; example: unknown };
}

/** A format's payload of one kind of event, as the catalog lists it. */
export interface CatalogPayload {
  /** Which variant, when the format's options choose between several (CloudEvents: `binary`, `structured`). */
  mode?: string;
  /** The request's Content-Type. */
  content_type_header: string;
  /** The headers this format adds, as JSON Schema properties (name -> schema), and which are always sent. */
  headers?: { properties: Record<string, Record<string, unknown>>; required: string[] };
  /** The body's JSON Schema (draft-07). */
  schema: Record<string, unknown>;
  example: unknown;
}

/** The engine's settings a format may build on. */
export interface EngineSettings {
  /** The configured retry schedule (HERALD_RETRY_DELAYS), ms. */
  retryDelaysMs: readonly number[];
}

/** One attempt as its format prepared it. */
export interface PreparedDelivery {
  /**
   * Which of the event's bodies this is: the engine builds each (event, format, key) body once and
   * reuses it for every webhook and retry that shares it. Two attempts with the same key must get
   * the same bytes.
   */
  bodyKey: string;
  /** The body, serialized (called once per bodyKey while it is cached). */
  body(limits?: BodyLimits): string;
  /** Method, the headers this format adds (they win over Herald's own), and whether to send without Content-Length. */
  request(r: { url: string; deliveryId: string; body: string; now: number }): FormatRequest;
  /** The wait before each retry, ms (`[i]` after attempt i+1); absent: the engine's schedule (HERALD_RETRY_DELAYS). */
  retryDelaysMs?: readonly number[];
  /** What the attempt log stores with the request so `loggedBody` can rebuild the body (small JSON). */
  logged: Record<string, unknown>;
}

export interface FormatRequest {
  method: string;
  headers: Record<string, string>;
  /** Stream the body without Content-Length. */
  chunked: boolean;
}

/**
 * Bounds on rendering a body, for formats whose body can grow past the event it is built from (a
 * Contentful transformation's template). Past them a format throws BodyTooLarge rather than
 * render on; a body that is the stored event, already bounded by the request that made it, may
 * ignore them.
 */
export interface BodyLimits {
  /** Largest body, bytes. */
  maxBytes: number;
  /** Most text spliced into template strings, bytes (default maxBytes). */
  spliceBytes?: number;
}

/** A body would pass its BodyLimits: nothing is sent (the attempt is `blocked` with this reason). */
export class BodyTooLarge extends Error {
  readonly code: string = 'BODY_TOO_LARGE';
  constructor(
    /** The limit passed, bytes. */
    readonly limit: number,
    /** What was rendered up to the limit (JSON bodies: the body's first `limit` bytes). */
    readonly prefix: string,
    message: string,
  ) {
    super(message);
  }
}

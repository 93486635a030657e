/**
 * Bounds of a webhook's event-storm settings (#20): batch size, batch window and debounce (ms),
 * rate limit. One place for the API's check (validate.ts) and the web form's (web/src/webhook-form.ts),
 * so both name the same ranges.
 */
export const BATCH_MAX_EVENTS = { min: 1, max: 1000 };
export const BATCH_WINDOW_MS = { min: 10, max: 60_000 };
export const DEBOUNCE_MS = { min: 0, max: 300_000 };
/** Most calls per period of a rate limit: calls are spaced at least 1 ms apart. */
export const RATE_LIMIT_MAX = { second: 1000, minute: 60_000 } as const;

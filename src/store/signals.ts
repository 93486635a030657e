/**
 * Cross-process signals, named once: PostgreSQL `NOTIFY` channels (db.notify / db.listen; absent on
 * SQLite, where one process holds the store and wakes itself in memory). A lost signal costs only
 * latency: each listener also has its own timer or reload as the fallback.
 */
export const SIGNALS = {
  /** Executions were committed or made due: every worker claims at once. No payload. */
  executions: 'herald_executions',
  /** A stack's webhooks changed: its match index is rebuilt. Payload: the api_key ('' after a lost connection: every stack). */
  webhooks: 'herald_webhooks',
  /** A publish was scheduled (src/content/schedule.ts): schedulers re-arm their timer. Payload: its due time, ms ('' after a lost connection: read the store). */
  schedules: 'herald_schedules',
} as const;

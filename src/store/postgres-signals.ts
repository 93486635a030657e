import pg from 'pg';

/**
 * LISTEN/NOTIFY. Notifies are coalesced: while one `pg_notify` for a channel and payload is on
 * its way, further ones collapse into a single follow-up, so a burst of commits costs a few
 * round trips, not one each.
 */
export class Signals {
  private handlers = new Map<string, Set<(payload: string) => void>>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Notifies on their way, by channel + payload: true when another must follow. */
  private sending = new Map<string, boolean>();

  constructor(
    private url: string,
    private pool: pg.Pool,
    private applicationName: string,
  ) {}

  notify(channel: string, payload: string) {
    const key = `${channel}\u0000${payload}`;
    if (this.sending.has(key)) {
      this.sending.set(key, true);
      return;
    }
    this.sending.set(key, false);
    const send = (): void => {
      this.pool
        .query('SELECT pg_notify($1, $2)', [channel, payload])
        .catch(() => {}) // lost signals are covered by the listeners' fallback timers
        .finally(() => {
          if (this.sending.get(key) && !this.closed) {
            this.sending.set(key, false);
            send();
          } else this.sending.delete(key);
        });
    };
    send();
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(fn);
    // Not reachable now: the reconnect loop keeps trying and calls `fn('')` once it is.
    await this.connect().catch(() => {});
    if (fresh && this.client) await this.client.query(`LISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => this.lost());
    return async () => {
      set!.delete(fn);
      if (set!.size > 0 || this.handlers.get(channel) !== set) return;
      this.handlers.delete(channel);
      await this.client?.query(`UNLISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => {});
    };
  }

  /** Opens the listening connection (once), LISTENs to every channel, and resets the backoff. */
  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName });
      client.on('error', () => this.lost());
      client.on('end', () => this.lost());
      client.on('notification', (msg) => this.deliver(msg.channel, msg.payload ?? ''));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      } catch (err) {
        client.end().catch(() => {});
        this.connecting = null;
        this.scheduleReconnect();
        throw err; // listen() and the reconnect loop only need to know it failed
      }
      this.client = client;
      this.connecting = null;
      this.retryMs = RECONNECT_MIN_MS;
    })();
    return this.connecting;
  }

  private deliver(channel: string, payload: string) {
    for (const fn of this.handlers.get(channel) ?? []) {
      try {
        fn(payload);
      } catch {
        // a listener's failure is its own; the others still hear the signal
      }
    }
  }

  /** The listening connection dropped: reconnect with backoff, then tell every listener. */
  private lost() {
    const client = this.client;
    if (!client) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          for (const channel of this.handlers.keys()) this.deliver(channel, '');
        },
        () => {}, // connect() scheduled the next try
      );
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  async close() {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
    // Let notifies on their way finish before the pool ends.
    while (this.sending.size > 0) await new Promise((r) => setTimeout(r, 5));
  }
}

/** Backoff of the listening connection's reconnects, ms. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

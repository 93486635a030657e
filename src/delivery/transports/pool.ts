/**
 * Broker connections, pooled per (broker, credentials): the first attempt to a broker connects,
 * the attempts after it share the connection, concurrent attempts share one connect. A connection
 * that drops (broker restarted, network cut) is forgotten, and the next attempt connects anew:
 * reconnecting is paced by the retry schedule, never a tight loop, and re-checks the address
 * policy on a fresh DNS answer. Connections unused for `idleMs` are closed.
 */
export interface PoolOptions<C> {
  /** Closes a connection (quietly). */
  close(conn: C): Promise<void>;
  /** Unused connections close after this many ms (Default: 5 minutes). */
  idleMs?: number;
}

interface Entry<C> {
  conn: Promise<C>;
  lastUsed: number;
  busy: number;
}

export class ConnectionPool<C> {
  private entries = new Map<string, Entry<C>>();
  private sweeper: NodeJS.Timeout;
  private readonly idleMs: number;

  constructor(private o: PoolOptions<C>) {
    this.idleMs = o.idleMs ?? 5 * 60_000;
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.idleMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Runs `fn` on the connection for `key`, connecting with `connect` when there is none.
   * `connect` receives `lost`, to call when the connection drops later (it is then forgotten).
   * A failed connect is forgotten at once, so the next attempt tries again.
   */
  async use<T>(key: string, connect: (lost: () => void) => Promise<C>, fn: (conn: C) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      const e: Entry<C> = { conn: null as never, lastUsed: Date.now(), busy: 0 };
      const lost = () => {
        if (this.entries.get(key) === e) this.entries.delete(key);
      };
      e.conn = connect(lost);
      e.conn.catch(lost);
      this.entries.set(key, e);
      entry = e;
    }
    entry.busy++;
    try {
      return await fn(await entry.conn);
    } finally {
      entry.busy--;
      entry.lastUsed = Date.now();
    }
  }

  /** Forgets `key`'s connection and closes it (after an error that leaves it unusable). */
  discard(key: string) {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    e.conn.then((c) => this.o.close(c), () => {});
  }

  private sweep() {
    const now = Date.now();
    for (const [key, e] of this.entries) {
      if (e.busy === 0 && now - e.lastUsed >= this.idleMs) this.discard(key);
    }
  }

  async closeAll() {
    clearInterval(this.sweeper);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.conn.then((c) => this.o.close(c), () => {})));
  }
}

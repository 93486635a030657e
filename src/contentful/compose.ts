import type { ContentDeps } from '../content/context.ts';
import type { Db, Tx } from '../store/db.ts';

/**
 * Runs several of src/content/**'s operations in ONE transaction. Each of them opens its own
 * (`deps.db.tx(...)`); given `within(deps, tx)` they run inside `tx` instead, so a Contentful
 * request that is several Herald changes (an entry saved in three locales, a publish that first
 * creates its environment) commits all of them with their events, or none.
 */
export function within(deps: ContentDeps, tx: Tx): ContentDeps {
  const db: Db = {
    dialect: deps.db.dialect,
    all: (sql, params) => tx.all(sql, params),
    get: (sql, params) => tx.get(sql, params),
    run: (sql, params) => tx.run(sql, params),
    values: (sql, params) => tx.values(sql, params),
    tx: (fn) => fn(tx),
    close: async () => {},
  };
  return { ...deps, db };
}

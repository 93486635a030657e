import type { EventLog } from '../events/record.ts';
import type { StackScope } from '../auth/caller.ts';
import type { Db } from '../store/db.ts';
import type { AssetUrlKey } from './asset-urls.ts';

/**
 * What the content repositories need from a running Herald. Passed explicitly; `Herald`
 * satisfies it.
 */
export interface ContentDeps {
  db: Db;
  events: EventLog;
  /** Where asset files live: `<assetsDir>/<api_key>/<file id>`. */
  assetsDir: string;
  /** The key asset capability URLs are made with (content/asset-urls.ts); never shown. */
  assetUrlKey: AssetUrlKey;
}

/** The stack and branch a content operation acts on, and who acts (checked by auth/access.ts). */
export type Scope = StackScope;

/** Contentstack shows times as ISO 8601 strings; the store keeps milliseconds. */
export const iso = (ms: number) => new Date(ms).toISOString();

import type { Logger } from 'pino';
import type { Verdict } from './auth.ts';
import type { Blobs } from './blobs.ts';
import type { CatchUp } from './catch-up.ts';
import type { BackupConfig } from './config.ts';
import type { Module } from './event.ts';
import type { Selection } from './history.ts';
import type { Ingest } from './ingest.ts';
import type { RestoreReport } from './restore/restorer.ts';
import type { Source } from './source.ts';
import type { BackupStore } from './store.ts';

/**
 * Everything a running backup center is made of, wired once here and passed to its routes.
 */
export interface BackupContext {
  config: BackupConfig;
  store: BackupStore;
  blobs: Blobs;
  ingest: Ingest;
  /** Absent without --source. */
  source?: Source;
  catchUp?: CatchUp;
  log: Logger;
  verify(headers: Record<string, string | string[] | undefined>, body: Buffer): Verdict;
  /** The token the page's restore forms carry (a form posted from another site lacks it). */
  csrf: string;
  /** Restores one entity (an entry of content type `contentTypeUid`) into the source Herald (the page's Restore button). */
  restore(apiKey: string, branch: string, module: Module, uid: string, sel: Selection, contentTypeUid?: string): Promise<RestoreReport>;
}

import type { Logger } from 'pino';
import type { BackupEvent } from './event.ts';
import type { AssetFiles, FileRecord } from './files.ts';
import type { BackupStore, StoreOutcome } from './store.ts';

/**
 * Storing one event, from a delivery or the feed: capture the asset file its version needs (bytes
 * fsynced first), then commit the event, the file record and the delivery id together. An event
 * already held is not stored again; a feed read of an event a delivery stored only upgrades it.
 */
export class Ingest {
  constructor(
    private readonly store: BackupStore,
    private readonly files: AssetFiles,
    private readonly log: Logger,
  ) {}

  /** Whether storing `e` would change nothing (the seq is held, and this origin adds nothing). */
  isDuplicate(e: BackupEvent): boolean {
    const held = this.store.hasEvent(e.api_key, e.seq);
    if (!held) return false;
    return e.origin === 'webhook' || (held.origin === 'feed');
  }

  async ingest(e: BackupEvent, opts: { webhookId?: string } = {}): Promise<StoreOutcome> {
    if (this.isDuplicate(e)) {
      if (opts.webhookId) this.store.storeEvent(e, { webhookId: opts.webhookId });
      return 'duplicate';
    }
    const file = await this.files.capture(e);
    const outcome = this.store.storeEvent(e, { webhookId: opts.webhookId, file });
    if (file) this.noteFile(e, file);
    if (outcome !== 'duplicate') this.log.debug({ api_key: e.api_key, seq: e.seq, module: e.module, action: e.action, uid: e.uid, origin: e.origin, outcome }, 'event stored');
    return outcome;
  }

  /** Retries the asset files still pending for a stack (after the source came back, say). */
  async retryPendingFiles(apiKey: string): Promise<void> {
    for (const f of this.store.pendingFiles(apiKey)) {
      const e = this.store
        .eventsOf(apiKey, f.branch, 'asset', f.uid, null)
        .find((x) => x.seq === Number(f.seq));
      if (!e) continue;
      const file = await this.files.capture(e);
      if (!file) continue;
      this.store.putAssetFile({ ...file, api_key: apiKey, branch: f.branch, uid: f.uid, seq: Number(f.seq) });
      this.noteFile(e, file);
    }
  }

  private noteFile(e: BackupEvent, file: FileRecord) {
    const gapKey = `asset_file_missing:${e.branch}:${e.uid}@${file.version}`;
    if (file.status === 'missing') {
      const opened = this.store.openGap({
        api_key: e.api_key,
        gap_key: gapKey,
        kind: 'asset_file_missing',
        detail: `asset ${e.uid} version ${file.version}${e.branch !== 'main' ? ` (branch ${e.branch})` : ''}: ${file.problem}`,
        from_seq: e.seq,
        to_seq: e.seq,
      });
      if (opened) this.log.warn({ api_key: e.api_key, uid: e.uid, version: file.version, problem: file.problem }, 'asset file could not be captured');
    } else if (file.status === 'stored') {
      this.store.resolveGap(e.api_key, gapKey);
    }
  }
}

import type { Blobs } from './blobs.ts';
import { snapshotOf, type BackupEvent } from './event.ts';
import { SourceError, type Source } from './source.ts';
import type { AssetFile, BackupStore } from './store.ts';

/**
 * Capturing an asset version's bytes. Herald serves the file each version had
 * (`/v3/assets/{uid}/download?version=N`), replaced and deleted files included, for its log
 * retention: a version's bytes can be fetched when its event arrives, or later by catch-up.
 */
export type FileRecord = Omit<AssetFile, 'api_key' | 'branch' | 'uid' | 'seq'>;

/**
 * Whether the source's current asset (`current` metadata, undefined when deleted) explains a
 * version's file not being found: `behind` when the source has not reached that version yet (try
 * later); otherwise the file is `gone` (deleted or replaced longer ago than Herald keeps files).
 */
export function fileFits(version: number, current: Record<string, unknown> | undefined): 'behind' | 'gone' {
  return current && Number(current._version) < version ? 'behind' : 'gone';
}

export class AssetFiles {
  constructor(
    private readonly store: BackupStore,
    private readonly blobs: Blobs,
    private readonly source: Source | undefined,
    /** Largest file accepted, bytes. */
    private readonly maxBytes = 1024 ** 3,
  ) {}

  /**
   * The file record to store with an asset event, when its version's bytes are not held yet.
   * Throws a SourceError `unreachable` when the source cannot be reached now (a delivery is then
   * refused with 503 so Herald retries it; catch-up keeps the version pending).
   */
  async capture(e: BackupEvent): Promise<FileRecord | undefined> {
    if (e.module !== 'asset' || e.partial || e.version === null) return undefined;
    const held = this.store.assetFile(e.api_key, e.branch, e.uid, e.version, e);
    if (held && held.status !== 'pending') return undefined;
    const snap = snapshotOf('asset', e.data)!;
    const base = { version: e.version, filename: str(snap.filename), content_type: str(snap.content_type), sha256: null, size: null };
    if (!this.source) return { ...base, status: 'pending', problem: 'no --source is configured, so the file cannot be downloaded' };
    try {
      // A delete event's snapshot is the last version: its file is the one the asset had then.
      const stream = await this.source.download(e.api_key, e.branch, e.uid, e.version);
      if (!stream) {
        const current = await this.source.asset(e.api_key, e.branch, e.uid);
        if (fileFits(e.version, current) === 'behind') {
          return { ...base, status: 'pending', problem: `the source shows version ${current!._version}; waiting for version ${e.version}` };
        }
        return { ...base, status: 'missing', problem: `the source no longer has the file of version ${e.version} (the asset was deleted or replaced longer ago than Herald keeps files)` };
      }
      const { sha256, size } = await this.blobs.write(stream, this.maxBytes);
      return { ...base, status: 'stored', sha256, size, problem: null };
    } catch (err) {
      if (err instanceof SourceError && err.kind !== 'unreachable') return { ...base, status: 'pending', problem: err.message };
      throw err;
    }
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

import type { Blobs } from './blobs.ts';
import { snapshotOf, type BackupEvent } from './event.ts';
import { SourceError, type Source } from './source.ts';
import type { AssetFile, BackupStore } from './store.ts';

/**
 * Capturing an asset version's bytes. Herald serves the file each version had
 * (`/v3/assets/{uid}/download?version=N`, with x-herald-event-seq naming which asset a reused uid
 * meant), replaced and deleted files included, for its log retention: a version's bytes can be
 * fetched when its event arrives, or later by catch-up.
 */
export type FileRecord = Omit<AssetFile, 'api_key' | 'branch' | 'uid' | 'seq'>;

/**
 * Whether the source's current asset (`current` metadata, undefined when deleted) explains a
 * version's file not being found: `behind` when the source has not reached that version of this
 * asset yet (try later); otherwise the file is `gone` (deleted or replaced longer ago than Herald
 * keeps files). `createdAt`: the wanted asset's (its snapshot's); a current asset created at
 * another time is another asset given the uid since, whose versions start at 1 again: `gone`.
 */
export function fileFits(version: number, current: Record<string, unknown> | undefined, createdAt?: unknown): 'behind' | 'gone' {
  if (current && createdAt !== undefined && current.created_at !== createdAt) return 'gone';
  return current && Number(current._version) < version ? 'behind' : 'gone';
}

/**
 * Whether bytes downloaded from a source that did not confirm which asset they are (an older Herald,
 * without x-herald-event-seq: see Source.download) can be kept as the version's: only when their size
 * is the snapshot's `file_size` (bytes, Contentstack's string); another size is another asset's file,
 * served because the uid was given to a new asset since. undefined: keep them; else why not.
 */
export function unconfirmedFileProblem(size: number, snapshotSize: unknown, version: number): string | undefined {
  if (snapshotSize === undefined || snapshotSize === null || String(snapshotSize) === String(size)) return undefined;
  return `the source served ${size} bytes for version ${version}, whose file had ${String(snapshotSize)}: another asset was given this uid since, and the source (a Herald older than the x-herald-event-seq header) serves only its files; upgrade the source Herald to fetch the earlier asset's`;
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
      // The event's seq names which asset: the uid may have been given to a new asset since.
      const got = await this.source.download(e.api_key, e.branch, e.uid, e.version, e.seq);
      if (!got) {
        const current = await this.source.asset(e.api_key, e.branch, e.uid);
        if (fileFits(e.version, current, snap.created_at) === 'behind') {
          return { ...base, status: 'pending', problem: `the source shows version ${current!._version}; waiting for version ${e.version}` };
        }
        return { ...base, status: 'missing', problem: `the source no longer has the file of version ${e.version} (the asset was deleted or replaced longer ago than Herald keeps files)` };
      }
      const { sha256, size } = await this.blobs.write(got.stream, this.maxBytes);
      const problem = got.exact ? undefined : unconfirmedFileProblem(size, snap.file_size, e.version);
      if (problem) return { ...base, status: 'missing', problem };
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

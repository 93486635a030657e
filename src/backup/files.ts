import type { Blobs } from './blobs.ts';
import { snapshotOf, type BackupEvent } from './event.ts';
import { SourceError, type Source } from './source.ts';
import type { AssetFile, BackupStore } from './store.ts';

/**
 * Capturing an asset version's bytes. Herald serves only an asset's current file, so the bytes
 * of version N can be downloaded while N is current, or later if the file did not change since
 * (only its metadata). `fileFits` is that rule; `AssetFiles.capture` applies it around the
 * downloads.
 */
export type FileRecord = Omit<AssetFile, 'api_key' | 'branch' | 'uid'>;

/**
 * Whether the asset's current file (`current` metadata at the source) is version `version`'s:
 * `exact` when it is that version; `same_file` when it is a later version with the same file name,
 * size and type (a metadata change or a publish); otherwise `changed` (replaced since: that
 * version's bytes are gone) or `behind` (the source has not reached that version: try later).
 */
export function fileFits(snap: Record<string, unknown>, version: number, current: Record<string, unknown>): 'exact' | 'same_file' | 'changed' | 'behind' {
  const cv = Number(current._version);
  if (cv === version) return 'exact';
  if (cv < version) return 'behind';
  const same = current.filename === snap.filename && String(current.file_size) === String(snap.file_size) && current.content_type === snap.content_type;
  return same ? 'same_file' : 'changed';
}

/** Tries per capture when the file changes under a download. */
const CAPTURE_TRIES = 3;

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
    const held = this.store.assetFile(e.api_key, e.branch, e.uid, e.version);
    if (held && held.status !== 'pending') return undefined;
    const snap = snapshotOf('asset', e.data)!;
    const base = { version: e.version, filename: str(snap.filename), content_type: str(snap.content_type), sha256: null, size: null };
    if (!this.source) return { ...base, status: 'pending', problem: 'no --source is configured, so the file cannot be downloaded' };
    if (e.action === 'delete') {
      return { ...base, status: 'missing', problem: 'the asset was deleted at the source before its file was downloaded' };
    }
    try {
      for (let i = 0; i < CAPTURE_TRIES; i++) {
        const current = await this.source.asset(e.api_key, e.branch, e.uid);
        if (!current) return { ...base, status: 'missing', problem: 'the asset was deleted at the source before its file was downloaded' };
        const fit = fileFits(snap, e.version, current);
        if (fit === 'changed') return { ...base, status: 'missing', problem: `the file was replaced at the source (now version ${current._version}) before it was downloaded` };
        if (fit === 'behind') return { ...base, status: 'pending', problem: `the source shows version ${current._version}; waiting for version ${e.version}` };
        const stream = await this.source.download(e.api_key, e.branch, e.uid);
        if (!stream) return { ...base, status: 'missing', problem: 'the asset was deleted at the source before its file was downloaded' };
        const { sha256, size } = await this.blobs.write(stream, this.maxBytes);
        const after = await this.source.asset(e.api_key, e.branch, e.uid);
        // The file changed while it was read: read it again.
        if (!after || Number(after._version) !== Number(current._version)) continue;
        if (String(size) !== String(current.file_size)) continue;
        return { ...base, status: 'stored', sha256, size, problem: null };
      }
      return { ...base, status: 'pending', problem: 'the file kept changing while it was downloaded' };
    } catch (err) {
      if (err instanceof SourceError && err.kind !== 'unreachable') return { ...base, status: 'pending', problem: err.message };
      throw err;
    }
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Asset bytes, content-addressed: `<data dir>/blobs/<first 2 hex>/<sha256 hex>`. A blob is written
 * once and never changed, so two versions (or two assets) with the same bytes share one file.
 *
 * Writing: into `blobs/tmp/<random>` while hashing, fsync the file, rename it to its name, fsync
 * the directory. Only then is its row committed, so a row never points at bytes that a crash can
 * take back; a crash before that leaves at most an orphan temp file.
 */
export class Blobs {
  readonly dir: string;
  private readonly tmpDir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'blobs');
    this.tmpDir = join(this.dir, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
  }

  path(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.path(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Writes the chunks of `source` durably and returns their sha256 and size. `maxBytes` caps what
   * is accepted (the rest is refused with an error).
   */
  async write(source: AsyncIterable<Uint8Array>, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ sha256: string; size: number }> {
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx');
    try {
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new Error(`the file is larger than ${maxBytes} bytes`);
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    const sha256 = hash.digest('hex');
    const final = this.path(sha256);
    if (await this.has(sha256)) {
      await unlink(tmp).catch(() => {});
      return { sha256, size };
    }
    const dir = join(this.dir, sha256.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    await rename(tmp, final);
    await syncDir(dir);
    return { sha256, size };
  }
}

/** fsync a directory so a rename into it survives a power loss. */
async function syncDir(dir: string) {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

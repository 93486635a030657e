import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { copyFile, link, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Asset bytes on disk: `<assetsDir>/<api_key>/<file id>`. A file id is random and never reused,
 * so a file is written once and never modified: replacing an asset's file writes a new one and
 * removes the old after the change committed. Paths stored in the database are relative to the
 * assets dir and never come from user input.
 *
 * Order of a change that adds a file: receive into a temp name, rename to its final name, then
 * run the transaction; if the transaction fails, remove the file. A crash between the rename and
 * the commit can leave an orphan file, never a row without its file.
 */

/** A received upload, not yet part of any asset. */
export interface Upload {
  /** Absolute temp path. */
  tmp: string;
  size: number;
  filename: string;
  mimetype: string;
}

/**
 * A retired_asset_files row's `file` when the bytes are no longer held (a tombstone): the versions up
 * to its until_version had another file than the later ones, pruned by the log retention
 * (assets.ts pruneRetiredFiles) or replaced before the branch was copied (branches.ts createBranch). Without the row, such a
 * version would fall through to the asset's current file and be served the wrong bytes.
 */
export const NOT_HELD = '';

export function absolute(assetsDir: string, rel: string): string {
  return join(assetsDir, rel);
}

function stackDir(assetsDir: string, apiKey: string): string {
  const dir = join(assetsDir, apiKey);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const newFileId = () => randomBytes(16).toString('hex');

/**
 * Streams an upload to a temp file. Whatever goes wrong (the size limit, a broken connection),
 * the temp file is removed and the error rethrown.
 */
export async function receive(assetsDir: string, apiKey: string, stream: Readable): Promise<{ tmp: string; size: number }> {
  const tmp = join(stackDir(assetsDir, apiKey), `.tmp-${newFileId()}`);
  try {
    await pipeline(stream, createWriteStream(tmp, { flags: 'wx' }));
    const { size } = await stat(tmp);
    return { tmp, size };
  } catch (err) {
    await removeAbsolute(tmp);
    throw err;
  }
}

/** Moves a received temp file to its final name; returns the path relative to the assets dir. */
export async function keep(assetsDir: string, apiKey: string, tmp: string): Promise<string> {
  const id = newFileId();
  await rename(tmp, join(stackDir(assetsDir, apiKey), id));
  return `${apiKey}/${id}`;
}

/** A second name for a file (a branch's copy of an asset): a hard link, or a copy where links fail. */
export async function duplicate(assetsDir: string, apiKey: string, rel: string): Promise<string> {
  const id = newFileId();
  const dst = join(stackDir(assetsDir, apiKey), id);
  try {
    await link(absolute(assetsDir, rel), dst);
  } catch {
    await copyFile(absolute(assetsDir, rel), dst);
  }
  return `${apiKey}/${id}`;
}

export async function remove(assetsDir: string, rel: string): Promise<void> {
  await removeAbsolute(absolute(assetsDir, rel));
}

export async function removeAbsolute(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** A client's file name made safe to store and to echo in headers: no directories, no control characters. */
export function safeFilename(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f"]/g, '').trim().slice(0, 255);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

/** A MIME type as the client declared it, or application/octet-stream when it is not one. */
export function safeMimetype(type: string | undefined): string {
  return type && /^[\w.+-]+\/[\w.+-]+$/.test(type) && type.length <= 255 ? type.toLowerCase() : 'application/octet-stream';
}

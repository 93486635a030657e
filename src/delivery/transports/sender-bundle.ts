import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The sender thread's code (sender-worker.ts and the few modules it imports, ~23 KB) as one plain
 * ES module, so a thread starts without tsx: tsx registers its module hooks in each thread it runs
 * in (Node 20 runs them on a thread and isolate of their own) and loads esbuild's JavaScript API.
 * Measured on this 2-core machine (session 9): a thread ready in ~365 ms of CPU instead of
 * ~700 ms, and ~20 MiB less RSS per thread.
 *
 * Built with the esbuild tsx runs on (no dependency of Herald's own) into node_modules/.cache/herald,
 * packages left as imports (resolved from that node_modules, the one the sources use), and built
 * again when any source file in it changed: the files' SHA-1s are kept beside it, one record per
 * checkout (keyed by the entry's path). Checking them costs a read of each (~1 ms); a build ~30 ms
 * of esbuild plus its start-up (a child process, the first time only).
 *
 * Resolves the bundle's file URL, or null when there is none (no esbuild, the cache not writable,
 * a build error): the thread then loads the sources through tsx, as before.
 */
export async function senderBundle(entry: URL): Promise<string | null> {
  try {
    const entryPath = fileURLToPath(entry);
    const tsxDir = fileURLToPath(import.meta.resolve('tsx/package.json'));
    const modules = tsxDir.slice(0, tsxDir.lastIndexOf('/node_modules/') + '/node_modules'.length);
    const dir = join(modules, '.cache', 'herald');
    const key = sha1(entryPath).slice(0, 12);
    const index = join(dir, `sender-${key}.json`);
    const known = await readJson(index);
    if (known && (await unchanged(known.inputs)) && (await exists(join(dir, known.bundle)))) return pathToFileURL(join(dir, known.bundle)).href;

    const esbuild = createRequire(tsxDir)('esbuild') as typeof import('esbuild');
    const cwd = dirname(entryPath);
    const out = await esbuild.build({
      entryPoints: [entryPath],
      absWorkingDir: cwd,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.contents;
    const inputs: Record<string, string> = {};
    for (const rel of Object.keys(out.metafile.inputs)) {
      const path = resolve(cwd, rel);
      inputs[path] = sha1(await readFile(path));
    }
    const bundle = `sender-${key}-${sha1(code).slice(0, 12)}.mjs`;
    await mkdir(dir, { recursive: true });
    // Written under a name of this process's and renamed: other processes may build at once.
    await atomicWrite(join(dir, bundle), code);
    await atomicWrite(index, JSON.stringify({ bundle, inputs } satisfies Built));
    await prune(dir, `sender-${key}-`, bundle);
    return pathToFileURL(join(dir, bundle)).href;
  } catch {
    return null;
  }
}

interface Built {
  bundle: string;
  /** Source file path -> SHA-1 of its content when the bundle was built. */
  inputs: Record<string, string>;
}

const sha1 = (data: string | Uint8Array) => createHash('sha1').update(data).digest('hex');

async function readJson(path: string): Promise<Built | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Built;
  } catch {
    return null;
  }
}

async function unchanged(inputs: Record<string, string>): Promise<boolean> {
  try {
    for (const [path, hash] of Object.entries(inputs)) if (sha1(await readFile(path)) !== hash) return false;
    return Object.keys(inputs).length > 0;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Bundles this one replaced, once no process can still be starting a thread from them. */
const STALE_BUNDLE_MS = 60 * 60_000;

async function prune(dir: string, prefix: string, keep: string) {
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.mjs') || name === keep) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > STALE_BUNDLE_MS) await rm(path, { force: true });
    } catch {}
  }
}

async function atomicWrite(path: string, data: string | Uint8Array) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

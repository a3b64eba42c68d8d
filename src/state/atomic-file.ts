import { open, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DirSyncer } from './dir-sync';

let tempCounter = 0;

const TEMP_MARK = '.tmp-';

/**
 * Replaces `file` with `data` so that after a crash the file holds either the old or the new content, never a torn
 * mix: write a temp file in the same directory, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(file: string, data: string, syncer: DirSyncer): Promise<void> {
  const temp = `${file}${TEMP_MARK}${process.pid}-${++tempCounter}`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncer.sync(path.dirname(file));
}

/**
 * Replaces `file` with `data` so that readers never see a torn mix (temp file, then rename), without waiting for the
 * disk: for files whose durability comes from elsewhere (a journal entry, src/state/journal.ts).
 */
export async function replaceFile(file: string, data: string): Promise<void> {
  const temp = `${file}${TEMP_MARK}${process.pid}-${++tempCounter}`;
  await writeFile(temp, data, { encoding: 'utf8', mode: 0o600 });
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Removes `file` if present (not durably on its own: see replaceFile). */
export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Removes `file` durably; a file that is already gone is not an error. */
export async function removeFileDurably(file: string, syncer: DirSyncer): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return;
  }
  await syncer.sync(path.dirname(file));
}

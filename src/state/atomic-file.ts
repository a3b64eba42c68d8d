import { rename, unlink, writeFile } from 'node:fs/promises';

let tempCounter = 0;

const TEMP_MARK = '.tmp-';

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

import { rename, unlink, writeFile } from 'node:fs/promises';

let tempCounter = 0;

const TEMP_MARK = '.tmp-';

/**
 * Replaces `file` with `data` so that readers never see a torn mix (temp file, then rename), without waiting for the
 * disk: for files whose durability comes from elsewhere (a journal entry, src/state/journal.ts).
 */
export async function replaceFile(file: string, data: string): Promise<void> {
  const temp = `${file}${TEMP_MARK}${process.pid}-${++tempCounter}`;
  try {
    await writeFile(temp, data, { encoding: 'utf8', mode: 0o600 });
    await rename(temp, file);
  } catch (err) {
    // A write cut short by a full disk leaves a partial temp file: never leave it behind.
    await unlink(temp).catch(() => undefined);
    throw withPath(err, temp);
  }
}

/**
 * Names the file an OS error was about when Node did not (errors of write(2) through a descriptor carry no path), so
 * that a full disk's RESOURCE_EXHAUSTED says which filesystem (src/grpc/status.ts).
 */
export function withPath(err: unknown, file: string): unknown {
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).path === undefined) {
    (err as NodeJS.ErrnoException).path = file;
  }
  return err;
}

/** Removes `file` if present (not durably on its own: see replaceFile). */
export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

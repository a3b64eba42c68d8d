import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log';

/** Something that is not a regular file stands where a record or a journal segment belongs. */
export class NotRegularFileError extends Error {
  constructor(
    readonly file: string,
    readonly type: string,
  ) {
    super(`${file} is not a regular file (${type})`);
    this.name = 'NotRegularFileError';
  }
}

export function typeOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown';
}

/**
 * Reads a file that must be a regular one, without ever blocking or following a link: lstat first, then O_NONBLOCK makes opening a
 * FIFO return at once (a plain open would wait for a writer forever), O_NOFOLLOW refuses a symlink, and fstat of
 * the opened descriptor checks the type of what was really opened (lstat before it could race with a rename).
 */
export async function readRegularFile(file: string): Promise<string> {
  // Never even open a device or socket: opening some devices has effects of its own (a tape rewinds).
  const before = await lstat(file);
  if (!before.isFile()) throw new NotRegularFileError(file, typeOf(before));
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    // O_NOFOLLOW on a symlink fails with ELOOP: say what is there instead.
    if (err.code === 'ELOOP') throw new NotRegularFileError(file, 'symlink');
    throw err;
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new NotRegularFileError(file, typeOf(st));
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** The entries of `dir` with their lstat type (never following a link); absent entries (raced away) are skipped. */
export async function listEntries(dir: string): Promise<{ name: string; type: string }[]> {
  const out: { name: string; type: string }[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st) out.push({ name, type: typeOf(st) });
  }
  return out;
}

/**
 * Moves an entry that is not a regular file out of a record or journal folder into the quarantine folder (a rename:
 * its content is never opened, so a FIFO cannot block start-up and a device is never read), with one log line.
 */
export async function setAside(dir: string, name: string, type: string, quarantineDir: string, destName: string, log: Logger, msg = 'state entry is not a regular file: moved to the quarantine folder'): Promise<string> {
  await mkdir(quarantineDir, { recursive: true, mode: 0o700 });
  const from = path.join(dir, name);
  const dest = path.join(quarantineDir, destName);
  await rename(from, dest);
  log.error({ file: from, movedTo: dest, err: `not a regular file (${type})` }, msg);
  return dest;
}

/**
 * The name in a damaged record, if the text still holds it whole: records are written `{"id":…,"name":…`, so a
 * record torn after its first fields keeps it. Anything unreadable gives null.
 */
export async function salvageName(file: string): Promise<string | null> {
  const text = await readRegularFile(file).catch(() => null);
  const m = text === null ? null : /"name"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
  if (!m) return null;
  try {
    const name: unknown = JSON.parse(m[1]!);
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

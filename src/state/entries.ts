import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Dirent, type Stats } from 'node:fs';
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

export function typeOf(st: Stats | Dirent): string {
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

/**
 * readRegularFile's synchronous twin, for start-up only (before the driver serves, STYLE.md): the same checks in the
 * same order. Reading 10,000 small records through the thread pool costs ~7 hand-offs each (lstat, open, fstat,
 * fstat, read, read, close): most of a second on this machine. Callers yield to the event loop between batches
 * (src/state/bounded.ts), so Probe still answers "not ready" while they run.
 */
export function readRegularFileSync(file: string): string {
  const before = lstatSync(file);
  if (!before.isFile()) throw new NotRegularFileError(file, typeOf(before));
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFileError(file, 'symlink');
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(file, typeOf(st));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The entries of `dir` with their type (never following a link); absent entries (raced away) are skipped. The type
 * comes with the directory listing (getdents' d_type), so 10,000 records cost no lstat each (issue 15's start-up);
 * only a filesystem that does not report types (d_type unknown) is asked per entry.
 */
export async function listEntries(dir: string): Promise<{ name: string; type: string }[]> {
  const out: { name: string; type: string }[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const known = typeOf(entry);
    if (known !== 'unknown') {
      out.push({ name: entry.name, type: known });
      continue;
    }
    const st = await lstat(path.join(dir, entry.name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st) out.push({ name: entry.name, type: typeOf(st) });
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

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from './exec';

/** Copies a directory tree with everything a filesystem volume holds; faked in unit tests. */
export interface TreeCopier {
  /** True when the filesystem under `dir` can share extents (reflink/FICLONE): copies are then copy-on-write. */
  probeReflink(dir: string): Promise<boolean>;
  /** Copies the contents of `source` into the existing directory `dest`. */
  copyContents(source: string, dest: string, signal?: AbortSignal): Promise<void>;
}

/**
 * GNU cp in a child process (the event loop never waits on the copy): `-a` keeps modes, owners, times, symlinks,
 * hard links within the tree and extended attributes; holes stay holes (coreutils >= 9 finds them with SEEK_HOLE
 * under the default --sparse=auto, which is also the only mode reflink works with); `--reflink=auto` clones extents
 * (FICLONE) where the filesystem can, which makes the copy near-instant on XFS with reflink and btrfs.
 */
export class CpTreeCopier implements TreeCopier {
  constructor(
    private readonly run: CommandRunner,
    private readonly timeoutMs = 6 * 60 * 60 * 1000,
  ) {}

  async probeReflink(dir: string): Promise<boolean> {
    const probe = await mkdtemp(path.join(dir, '.reflink-probe-'));
    try {
      await writeFile(path.join(probe, 'a'), 'reflink probe');
      await this.run('cp', ['--reflink=always', '--', path.join(probe, 'a'), path.join(probe, 'b')]);
      return true;
    } catch {
      return false;
    } finally {
      await rm(probe, { recursive: true, force: true });
    }
  }

  async copyContents(source: string, dest: string, signal?: AbortSignal): Promise<void> {
    // "source/." copies the directory's contents (including dot files) into dest rather than nesting it.
    await this.run('cp', ['-a', '--reflink=auto', '--', `${source}/.`, dest], { timeoutMs: this.timeoutMs, signal });
  }
}

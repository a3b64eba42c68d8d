import { randomBytes } from 'node:crypto';
import { open, stat, unlink, writeFile } from 'node:fs/promises';
import { noSpaceCode } from '../errors';
import { withPath } from './atomic-file';
import type { Logger } from '../log';

/** What requireRoom writes to prove there is room: more than a record, its temp file and a journal line. */
const PROBE_BYTES = 16 * 1024;

/** Enough for hundreds of record changes (a temp file and a journal line each) while the disk is full. */
export const DEFAULT_RESERVE_BYTES = 1024 * 1024;

/**
 * Room kept in advance on the state directory's filesystem so that the calls that free space — DeleteVolume,
 * DeleteSnapshot, ControllerUnpublish, NodeUnpublish, NodeUnstage — can still write their records when it is full
 * (each writes a temp file and a journal line before its data goes). Why a reserve file rather than "write nothing":
 * a delete must record phase `deleting` durably before it removes data (a crash in between is finished at start-up),
 * and ENOSPC can strike any write, even a journal line into a block the segment already has.
 *
 * How it is used: a change that needs space first makes sure the reserve exists (if it cannot be made, the disk is
 * full and the change fails with ENOSPC, so ordinary work can never eat the reserve); a change that frees space and
 * hits ENOSPC releases the reserve and tries once more. Once space returns, the next change that needs space makes
 * the reserve again: nothing needs a restart. The file holds random bytes, written and fsynced, so the blocks are
 * really allocated (zeros could be compressed away; a sparse file would hold nothing). Pods writing to plain
 * directory volumes on the same filesystem can take the freed room first: then the freeing call fails with
 * RESOURCE_EXHAUSTED and is retried by the CO like any other.
 */
export class SpaceReserve {
  private present = false;
  private making: Promise<void> | null = null;

  constructor(
    readonly file: string,
    private readonly log: Logger,
    readonly bytes: number = DEFAULT_RESERVE_BYTES,
  ) {}

  /** Makes the reserve if it is missing; rejects with the filesystem's ENOSPC/EDQUOT when there is no room for it. */
  async ensure(): Promise<void> {
    if (this.present) return;
    this.making ??= this.make().finally(() => {
      this.making = null;
    });
    await this.making;
  }

  private async make(): Promise<void> {
    const st = await stat(this.file).catch(() => null);
    if (st && st.isFile() && st.size >= this.bytes) {
      this.present = true;
      return;
    }
    try {
      const handle = await open(this.file, 'w', 0o600);
      try {
        for (let done = 0; done < this.bytes; ) {
          const chunk = randomBytes(Math.min(64 * 1024, this.bytes - done));
          const { bytesWritten } = await handle.write(chunk, 0, chunk.length, done);
          if (bytesWritten <= 0) throw Object.assign(new Error(`no space left for the space reserve ${this.file}`), { code: 'ENOSPC', path: this.file });
          done += bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.present = true;
      this.log.info({ file: this.file, bytes: this.bytes }, 'space reserve in place for deletes on a full disk');
    } catch (err) {
      // A partial reserve would only take room from the change that asked: give it back.
      await unlink(this.file).catch(() => undefined);
      throw withPath(err, this.file);
    }
  }

  /**
   * Fails with ENOSPC/EDQUOT now, naming the state filesystem, if a change needing space could not be written: for
   * calls that would otherwise attach a loop device or mount before their first record write (and would have to
   * undo it). A probe write, not statfs: only a write tells whether root's reserved blocks or a quota allow it.
   */
  async requireRoom(): Promise<void> {
    await this.ensure();
    const probe = `${this.file}.probe`;
    try {
      await writeFile(probe, randomBytes(PROBE_BYTES), { mode: 0o600 });
    } catch (err) {
      throw withPath(err, probe);
    } finally {
      await unlink(probe).catch(() => undefined);
    }
  }

  /** Frees the reserve for a change that frees space; false when there was none to free. */
  async release(): Promise<boolean> {
    await this.making?.catch(() => undefined);
    this.present = false;
    const freed = await unlink(this.file).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (freed) this.log.warn({ file: this.file }, 'state filesystem full: space reserve released for a change that frees space');
    return freed;
  }

  /**
   * Runs a change to the state. One that frees space may spend the reserve: on ENOSPC/EDQUOT it is released and the
   * change tried once more. Any other change first makes sure the reserve exists.
   */
  async spend<R>(freeing: boolean, change: () => Promise<R>): Promise<R> {
    if (!freeing) await this.ensure();
    try {
      return await change();
    } catch (err) {
      if (!freeing || noSpaceCode(err) === null || !(await this.release())) throw err;
      return change();
    }
  }
}

import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../log';

/**
 * Where data that is being thrown away goes before it is removed: a rename out of the tree that names it (atomic,
 * instant, never ENOTEMPTY) and then a removal in the background that retries until it succeeds. A leftover child
 * process may still be writing into a half-made snapshot when the driver restarts; removing that tree in line made
 * every start-up fail with ENOTEMPTY. The trash lives inside the state directory (same filesystem, so the rename is
 * a rename), and start-up sweeps what a crash left in it.
 */
export class Trash {
  private sweeping: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    private readonly retryMs = 1_000,
  ) {}

  /** Moves `target` (a file or a tree) into the trash and schedules its removal; nothing there is fine. */
  async setAside(target: string): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await rename(target, path.join(this.dir, `${path.basename(target)}.${randomUUID()}`));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // A full disk may refuse the trash folder's first block: removing in line is what frees space then.
      if (code === 'ENOSPC' || code === 'EDQUOT') return rm(target, { recursive: true, force: true });
      throw err;
    }
    this.sweepInBackground();
  }

  /** Removes everything in the trash, in the background; failures are logged and retried, never thrown. */
  sweepInBackground(): void {
    if (this.sweeping) {
      this.again = true;
      return;
    }
    this.sweeping = this.sweep().finally(() => {
      this.sweeping = null;
      if (this.again) {
        this.again = false;
        this.sweepInBackground();
      }
    });
  }

  /** Resolves when no sweep is running (tests, clean shutdown). */
  async idle(): Promise<void> {
    while (this.sweeping) await this.sweeping;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async sweep(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let failed = 0;
    for (const name of names) {
      try {
        await rm(path.join(this.dir, name), { recursive: true, force: true, maxRetries: 2 });
      } catch (err) {
        failed++;
        this.log.warn({ entry: path.join(this.dir, name), err: (err as Error).message }, 'could not remove set-aside data yet: will retry');
      }
    }
    if (failed > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sweepInBackground();
      }, this.retryMs);
      this.timer.unref();
    }
  }
}

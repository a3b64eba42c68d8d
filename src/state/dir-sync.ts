import { open } from 'node:fs/promises';

interface Slot {
  /** The fsync in progress, if any. */
  running: Promise<void> | null;
  /** The fsync that will start when the running one ends; shared by everyone who arrived meanwhile. */
  next: Promise<void> | null;
}

/** fsync(2) of one path (file or directory). */
export type FsyncPath = (p: string) => Promise<void>;

/**
 * fsyncs directories so that renames and unlinks in them survive a crash. Calls that arrive while a sync of the same
 * directory is running share the next sync (a group commit): N concurrent writers cost two fsyncs, not N. Record
 * files are fsynced through `fsync` too, so every fsync of the state store passes one injectable seam (tests count
 * them there instead of mocking node:fs).
 */
export class DirSyncer {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly fsync: FsyncPath = fsyncPath) {}

  sync(dir: string): Promise<void> {
    let slot = this.slots.get(dir);
    if (!slot) {
      slot = { running: null, next: null };
      this.slots.set(dir, slot);
    }
    const running = slot.running;
    if (!running) return this.start(dir, slot);
    // The running sync may have begun before our rename reached the directory: wait for the one after it.
    if (slot.next) return slot.next;
    const s = slot;
    const next = running.catch(() => undefined).then(() => {
      s.next = null;
      return this.start(dir, s);
    });
    s.next = next;
    return next;
  }

  private start(dir: string, slot: Slot): Promise<void> {
    const run = this.fsync(dir).finally(() => {
      if (slot.running === run) slot.running = null;
    });
    slot.running = run;
    return run;
  }
}

export async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

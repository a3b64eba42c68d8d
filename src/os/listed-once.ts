import { loopsBacking, type LoopDevices, type LoopInfo } from './loop';
import type { Mounter, MountEntry } from './mount';

/**
 * Start-up re-stages every staged volume (src/node/block.ts, src/node/image.ts), and each record used to ask the
 * host again: one `losetup --list` child process and one /proc/self/mountinfo read per staged volume, so 200 staged
 * image volumes cost 200 spawns before Probe said ready (issue 15). These wrappers list once and answer every record
 * from that list; anything that changes the host (attach, detach, mount, unmount) forgets it, so the next question
 * sees the change. For start-up only: App hands them to the re-staging steps and keeps the plain ones for serving.
 */
/** One listing shared by every caller until `forget()`; a failed listing is not kept (the next caller retries). */
class ListedOnce<T> {
  private listed: Promise<T[]> | null = null;

  constructor(private readonly listing: () => Promise<T[]>) {}

  get(): Promise<T[]> {
    this.listed ??= this.listing().catch((err: unknown) => {
      this.listed = null;
      throw err;
    });
    return this.listed;
  }

  forget(): void {
    this.listed = null;
  }
}

export class LoopsListedOnce implements LoopDevices {
  private readonly listed: ListedOnce<LoopInfo>;

  constructor(private readonly inner: LoopDevices) {
    this.listed = new ListedOnce(() => inner.list());
  }

  list(): Promise<LoopInfo[]> {
    return this.listed.get();
  }

  async backing(file: string): Promise<string[]> {
    return (await loopsBacking(await this.list(), file)).map((l) => l.device);
  }

  async backingWritable(file: string): Promise<string[]> {
    return (await loopsBacking(await this.list(), file)).filter((l) => !l.readOnly).map((l) => l.device);
  }

  async backingReadOnly(file: string): Promise<string[]> {
    return (await loopsBacking(await this.list(), file)).filter((l) => l.readOnly).map((l) => l.device);
  }

  async attach(file: string, options?: { readOnly?: boolean }): Promise<string> {
    this.listed.forget();
    return this.inner.attach(file, options);
  }

  async detach(device: string): Promise<void> {
    this.listed.forget();
    await this.inner.detach(device);
  }

  refreshSize(device: string): Promise<void> {
    return this.inner.refreshSize(device);
  }
}

export class MountsListedOnce implements Mounter {
  private readonly listed: ListedOnce<MountEntry>;

  constructor(private readonly inner: Mounter) {
    this.listed = new ListedOnce(() => inner.list());
  }

  list(): Promise<MountEntry[]> {
    return this.listed.get();
  }

  async bind(...args: Parameters<Mounter['bind']>): Promise<void> {
    this.listed.forget();
    await this.inner.bind(...args);
  }

  async mountDevice(device: string, target: string, fsType: string): Promise<void> {
    this.listed.forget();
    await this.inner.mountDevice(device, target, fsType);
  }

  async unmount(target: string, kind?: 'bind' | 'filesystem'): Promise<void> {
    this.listed.forget();
    await this.inner.unmount(target, kind);
  }
}

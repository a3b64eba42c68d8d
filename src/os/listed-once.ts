import { loopsBacking, type LoopDevices, type LoopInfo } from './loop';
import type { Mounter, MountEntry } from './mount';

/**
 * Start-up re-stages every staged volume (src/node/block.ts, src/node/image.ts), and each record used to ask the
 * host again: one `losetup --list` child process and one /proc/self/mountinfo read per staged volume, so 200 staged
 * image volumes cost 200 spawns before Probe said ready (issue 15). These wrappers list once and answer every record
 * from that list; anything that changes the host (attach, detach, mount, unmount) forgets it, so the next question
 * sees the change. For start-up only: App hands them to the re-staging steps and keeps the plain ones for serving.
 */
export class LoopsListedOnce implements LoopDevices {
  private listed: Promise<LoopInfo[]> | null = null;

  constructor(private readonly inner: LoopDevices) {}

  list(): Promise<LoopInfo[]> {
    this.listed ??= this.inner.list().catch((err: unknown) => {
      this.listed = null;
      throw err;
    });
    return this.listed;
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
    this.listed = null;
    return this.inner.attach(file, options);
  }

  async detach(device: string): Promise<void> {
    this.listed = null;
    await this.inner.detach(device);
  }

  refreshSize(device: string): Promise<void> {
    return this.inner.refreshSize(device);
  }
}

export class MountsListedOnce implements Mounter {
  private listed: Promise<MountEntry[]> | null = null;

  constructor(private readonly inner: Mounter) {}

  list(): Promise<MountEntry[]> {
    this.listed ??= this.inner.list().catch((err: unknown) => {
      this.listed = null;
      throw err;
    });
    return this.listed;
  }

  async bind(...args: Parameters<Mounter['bind']>): Promise<void> {
    this.listed = null;
    await this.inner.bind(...args);
  }

  async mountDevice(device: string, target: string, fsType: string): Promise<void> {
    this.listed = null;
    await this.inner.mountDevice(device, target, fsType);
  }

  async unmount(target: string, kind?: 'bind' | 'filesystem'): Promise<void> {
    this.listed = null;
    await this.inner.unmount(target, kind);
  }
}

/** Fakes of the OS tools the size-keeping kinds use: filesystem tools (image) and project quotas (quota). */
import type { Filesystems } from '../../src/os/filesystem';
import type { ProjectQuotas } from '../../src/os/project-quota';

/** Records every mkfs, grow and freeze; `failGrow` makes the next online grow fail (as resize2fs without CAP_SYS_RESOURCE). */
export class FakeFilesystems implements Filesystems {
  readonly made: Array<{ file: string; fsType: string }> = [];
  readonly grownOffline: string[] = [];
  readonly grown: Array<{ device: string; mountPoint: string; fsType: string }> = [];
  readonly events: string[] = [];
  failGrow: Error | null = null;

  async make(file: string, fsType: string): Promise<void> {
    this.made.push({ file, fsType });
  }

  async growUnmounted(device: string): Promise<void> {
    this.grownOffline.push(device);
  }

  async grow(device: string, mountPoint: string, fsType: string): Promise<void> {
    if (this.failGrow) {
      const err = this.failGrow;
      this.failGrow = null;
      throw err;
    }
    this.grown.push({ device, mountPoint, fsType });
  }

  async freeze(mountPoint: string): Promise<void> {
    this.events.push(`freeze ${mountPoint}`);
  }

  async thaw(mountPoint: string): Promise<void> {
    this.events.push(`thaw ${mountPoint}`);
  }
}

/** Project limits and directory assignments in memory. */
export class FakeProjectQuotas implements ProjectQuotas {
  readonly limits = new Map<number, bigint>();
  readonly assigned = new Map<string, number>();

  async assign(_mountPoint: string, dir: string, projectId: number): Promise<void> {
    this.assigned.set(dir, projectId);
  }

  async setLimit(_mountPoint: string, projectId: number, bytes: bigint): Promise<void> {
    if (bytes === 0n) this.limits.delete(projectId);
    else this.limits.set(projectId, bytes);
  }
}

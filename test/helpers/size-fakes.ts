/** Fakes of the OS tools the size-keeping kinds use: filesystem tools (image) and project quotas (quota). */
import { FilesystemDamagedError, type Filesystems } from '../../src/os/filesystem';
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

  /** Devices whose filesystem fills them (after growUnmounted); any other device's filesystem needs growing. */
  readonly filled = new Set<string>();
  readonly checks: Array<{ device: string; full: boolean }> = [];
  /** Makes the next check find errors it cannot repair. */
  damaged = false;

  async check(device: string, _fsType: string, afterInterruptedResize: boolean): Promise<void> {
    this.checks.push({ device, full: afterInterruptedResize });
    if (this.damaged) throw new FilesystemDamagedError(`e2fsck left errors on ${device}`);
  }

  async needsOfflineGrow(device: string): Promise<boolean> {
    return !this.filled.has(device);
  }

  /** Makes the next offline grow fail half-way (as a resize2fs killed by a crash). */
  failGrowUnmounted: Error | null = null;

  async growUnmounted(device: string): Promise<void> {
    if (this.failGrowUnmounted) {
      const err = this.failGrowUnmounted;
      this.failGrowUnmounted = null;
      throw err;
    }
    this.grownOffline.push(device);
    this.filled.add(device);
  }

  async grow(device: string, mountPoint: string, fsType: string): Promise<void> {
    if (this.failGrow) {
      const err = this.failGrow;
      this.failGrow = null;
      throw err;
    }
    this.grown.push({ device, mountPoint, fsType });
  }

  /** Mount points frozen now: like fsfreeze, freezing a frozen one fails (EBUSY), thawing a thawed one too (EINVAL). */
  readonly frozen = new Set<string>();

  async freeze(mountPoint: string): Promise<void> {
    if (this.frozen.has(mountPoint)) throw new Error(`fsfreeze: ${mountPoint}: freeze failed: Device or resource busy`);
    this.frozen.add(mountPoint);
    this.events.push(`freeze ${mountPoint}`);
  }

  async thaw(mountPoint: string): Promise<void> {
    if (!this.frozen.delete(mountPoint)) throw new Error(`fsfreeze: ${mountPoint}: unfreeze failed: Invalid argument`);
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

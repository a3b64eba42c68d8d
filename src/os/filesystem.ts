import { CommandError, type CommandRunner } from './exec';

/** A filesystem check found errors it could not repair by itself: a human must look before anything mounts it. */
export class FilesystemDamagedError extends Error {}

/**
 * The kernel refused to grow a mounted filesystem: ext4's online resize needs CAP_SYS_RESOURCE, which a container
 * (or this host) may lack. The filesystem is untouched and grows offline at its next mount.
 */
export class OnlineGrowRefusedError extends Error {}

/** What resize2fs prints when the kernel refuses an online resize for lack of privilege. */
const ONLINE_RESIZE_REFUSED = /Operation not permitted|Permission denied/;

/** The filesystem tools image volumes need (e2fsprogs, xfsprogs, util-linux); faked in unit tests. */
export interface Filesystems {
  /** Makes an empty filesystem of `fsType` filling the image file `file`. */
  make(file: string, fsType: string): Promise<void>;
  /**
   * Checks the unmounted filesystem on `device` before it is mounted, as kubelet's own mounter does (fsck -a): ext4
   * gets `e2fsck -p`, quick when the filesystem is clean. `afterInterruptedResize` asks for a forced full repair
   * (`e2fsck -f -y`) instead: a resize2fs killed mid-run leaves ext4 marked "with errors", which -p refuses to
   * touch. xfs: nothing (it replays its own log at mount). Throws FilesystemDamagedError when errors remain.
   */
  check(device: string, fsType: string, afterInterruptedResize: boolean): Promise<void>;
  /** Whether the unmounted filesystem on `device` is smaller than the device and grows offline (ext4 only). */
  needsOfflineGrow(device: string, fsType: string): Promise<boolean>;
  /**
   * Grows the unmounted filesystem on `device` to fill it where that is how the filesystem grows best (ext4: its
   * online resize needs CAP_SYS_RESOURCE, which an offline one does not); a no-op for xfs and when it already fills.
   */
  growUnmounted(device: string, fsType: string): Promise<void>;
  /** Grows the filesystem mounted at `mountPoint` (on `device`) online to fill its device; a no-op when it does. */
  grow(device: string, mountPoint: string, fsType: string): Promise<void>;
  /** Blocks writes and flushes the filesystem mounted at `mountPoint` (fsfreeze), so a copy of its image is consistent. */
  freeze(mountPoint: string): Promise<void>;
  thaw(mountPoint: string): Promise<void>;
}

export class SystemFilesystems implements Filesystems {
  constructor(
    private readonly run: CommandRunner,
    private readonly timeoutMs = 10 * 60 * 1000,
  ) {}

  async make(file: string, fsType: string): Promise<void> {
    // ext4: -m 0 reserves nothing for root (a volume's every byte is its user's); lazy init keeps mkfs of a big
    // sparse image fast. xfs: -f because a retried create finds the image it made before.
    if (fsType === 'ext4') await this.run('mkfs.ext4', ['-F', '-q', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '--', file], { timeoutMs: this.timeoutMs });
    else if (fsType === 'xfs') await this.run('mkfs.xfs', ['-f', '-q', '--', file], { timeoutMs: this.timeoutMs });
    else throw new Error(`no mkfs for ${fsType}`);
  }

  async check(device: string, fsType: string, afterInterruptedResize: boolean): Promise<void> {
    if (fsType !== 'ext4') return;
    const args = afterInterruptedResize ? ['-f', '-y', '--', device] : ['-p', '--', device];
    try {
      await this.run('e2fsck', args, { timeoutMs: this.timeoutMs });
    } catch (err) {
      // e2fsck's exit status is a bit set: 1 = errors corrected, 2 = corrected and a reboot is advised (only for a
      // mounted root, never ours); 4 = errors left uncorrected.
      if (!(err instanceof CommandError) || err.exitStatus === null) throw err;
      if (err.exitStatus === 1 || err.exitStatus === 2 || err.exitStatus === 3) return;
      if (err.exitStatus & 4) throw new FilesystemDamagedError(`e2fsck ${args[0]} left errors on ${device}: ${err.stderr.trim().slice(0, 300)}`);
      throw err;
    }
  }

  async needsOfflineGrow(device: string, fsType: string): Promise<boolean> {
    if (fsType !== 'ext4') return false;
    const [header, deviceBytes] = await Promise.all([this.run('dumpe2fs', ['-h', '--', device]), this.run('blockdev', ['--getsize64', device])]);
    return ext4Bytes(header) < BigInt(deviceBytes.trim());
  }

  async growUnmounted(device: string, fsType: string): Promise<void> {
    if (!(await this.needsOfflineGrow(device, fsType))) return;
    // resize2fs refuses an unmounted filesystem that was not checked since it was last mounted.
    await this.run('e2fsck', ['-f', '-p', '--', device], { timeoutMs: this.timeoutMs });
    await this.run('resize2fs', ['--', device], { timeoutMs: this.timeoutMs });
  }

  async grow(device: string, mountPoint: string, fsType: string): Promise<void> {
    // resize2fs works on the device of a mounted ext4 (online resize); xfs_growfs wants the mount point.
    if (fsType === 'ext4') await this.growExt4Online(device);
    else if (fsType === 'xfs') await this.run('xfs_growfs', ['-d', '--', mountPoint], { timeoutMs: this.timeoutMs });
    else throw new Error(`no online grow for ${fsType}`);
  }

  private async growExt4Online(device: string): Promise<void> {
    try {
      await this.run('resize2fs', ['--', device], { timeoutMs: this.timeoutMs });
    } catch (err) {
      if (err instanceof CommandError && ONLINE_RESIZE_REFUSED.test(err.stderr)) {
        throw new OnlineGrowRefusedError(`resize2fs: ${lastLine(err.stderr)}`);
      }
      throw err;
    }
  }

  async freeze(mountPoint: string): Promise<void> {
    await this.run('fsfreeze', ['--freeze', '--', mountPoint]);
  }

  async thaw(mountPoint: string): Promise<void> {
    await this.run('fsfreeze', ['--unfreeze', '--', mountPoint]);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').pop()?.trim().slice(0, 300) ?? '';
}

/** Size of an ext4 filesystem from `dumpe2fs -h`: block count times block size. */
export function ext4Bytes(header: string): bigint {
  const count = /^Block count:\s+(\d+)$/m.exec(header);
  const size = /^Block size:\s+(\d+)$/m.exec(header);
  if (!count || !size) throw new Error('dumpe2fs -h did not print the block count and size');
  return BigInt(count[1]!) * BigInt(size[1]!);
}

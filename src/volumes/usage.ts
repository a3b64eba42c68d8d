import type { StatFs } from '../os/fs-stats';
import type { HostFs } from '../os/host-fs';
import type { VolumeUsage } from './backend';

/**
 * A directory's own usage against its capacity: used is what a walk finds; available is what is left of the
 * capacity, but never more than its filesystem really has free (nothing reserves the difference).
 */
export async function dirUsage(host: HostFs, dir: string, capacity: bigint, statFs: StatFs): Promise<VolumeUsage> {
  const [walked, fs] = await Promise.all([host.treeUsage(dir), statFs(dir)]);
  const left = capacity > walked.bytes ? capacity - walked.bytes : 0n;
  return {
    totalBytes: capacity,
    usedBytes: walked.bytes,
    availableBytes: left < fs.availableBytes ? left : fs.availableBytes,
    totalInodes: walked.inodes + fs.freeInodes,
    usedInodes: walked.inodes,
    availableInodes: fs.freeInodes,
  };
}

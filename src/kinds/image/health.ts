import { finding, type HealthFinding } from '../../domain/health';
import type { KindHealthChecks, StagedCheckContext } from '../../volumes/health-checks';
import { all, imageIntact, imagePath, loopAttached, stagingMount } from '../health-checks';

/** ext4 counts the errors it has found since mkfs (sysfs errors_count); any is damage fsck must look at. */
async function kernelFsErrors(ctx: StagedCheckContext): Promise<HealthFinding[]> {
  const found: HealthFinding[] = [];
  for (const device of await ctx.loops.backingWritable(ctx.image)) {
    const errors = await ctx.probe.ext4ErrorCount(device);
    if (errors !== null && errors > 0) {
      found.push(finding('DATA_LOSS', 'FilesystemErrors', `the kernel has recorded ${errors} ext4 error(s) on the volume's filesystem (${device}): run fsck`));
    }
  }
  return found;
}

/**
 * The node's checks of an image's mounted filesystem: a persistent volume's staging mount, an inline volume's own
 * mount (src/kinds/image/inline.ts). A detached loop under a mounted filesystem cannot happen (the mount holds
 * it); it can after a lazy unmount.
 */
export const imageMountChecks = all(stagingMount, loopAttached, kernelFsErrors);

export const imageHealth: KindHealthChecks = {
  dataPath: imagePath,
  storage: imageIntact,
  staged: imageMountChecks,
};

import { finding, type HealthFinding } from '../../domain/health';
import type { KindHealthChecks, StorageCheckContext } from '../../volumes/health-checks';
import { directoryPath, directoryPresent, stagingMount } from '../health-checks';

/**
 * statfs on a project-quota directory answers the project's limit and usage (XFS, ext4), so nothing available under
 * a non-zero limit means writers get EDQUOT.
 */
async function quotaExceeded(ctx: StorageCheckContext): Promise<HealthFinding[]> {
  const fs = await ctx.statFs(ctx.dataPath);
  if (fs.totalBytes > 0n && fs.availableBytes === 0n) {
    return [finding('DEGRADED', 'QuotaExceeded', `the volume's project quota of ${fs.totalBytes} bytes is used up: writes fail with EDQUOT`)];
  }
  return [];
}

/** A quota volume is a directory volume whose project quota is not used up. */
export const quotaHealth: KindHealthChecks = {
  dataPath: directoryPath,
  storage: async (ctx) => {
    const missing = await directoryPresent(ctx);
    return missing.length > 0 ? missing : quotaExceeded(ctx);
  },
  staged: stagingMount,
};

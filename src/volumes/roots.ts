import type { HostFs } from '../os/host-fs';

/**
 * The real path of a configured --volume-roots directory (symlinks followed), or null when it is missing or not a
 * directory. Every check that confines a path under a root compares against this, never the configured spelling.
 */
export async function realVolumeRoot(fs: HostFs, configured: string): Promise<string | null> {
  const real = await fs.realpath(configured).catch(() => null);
  if (real === null) return null;
  const info = await fs.stat(real).catch(() => null);
  return info?.type === 'directory' ? real : null;
}

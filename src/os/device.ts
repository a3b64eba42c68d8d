import { stat } from 'node:fs/promises';

/** "major:minor" of the filesystem holding a path, in the form /proc/self/mountinfo uses. */
export type DeviceOf = (path: string) => Promise<string>;

export const systemDeviceOf: DeviceOf = async (p) => {
  const dev = (await stat(p, { bigint: true })).dev;
  // glibc's gnu_dev_major / gnu_dev_minor encoding of dev_t.
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
};

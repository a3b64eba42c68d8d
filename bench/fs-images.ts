import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../src/os/exec';

export type ImageFs = 'ext4' | 'xfs-reflink';

export interface MountedImage {
  mountPoint: string;
  /** Unmounts (which frees the loop device: mount -o loop sets autoclear) and removes the image. */
  dispose(): Promise<void>;
}

const MKFS: Record<ImageFs, [string, string[]]> = {
  ext4: ['mkfs.ext4', ['-F', '-q']],
  // reflink=1 is xfsprogs' default since 5.1; asked for explicitly so the bench measures copy-on-write.
  'xfs-reflink': ['mkfs.xfs', ['-f', '-q', '-m', 'reflink=1']],
};

/** A filesystem of `kind` on a sparse image file, loop-mounted under `dir`. Root only. */
export async function mountImage(dir: string, kind: ImageFs, sizeMiB: number): Promise<MountedImage> {
  const image = path.join(dir, `${kind}.img`);
  const mountPoint = path.join(dir, `mnt-${kind}`);
  await runCommand('truncate', ['-s', `${sizeMiB}M`, image]);
  const [mkfs, args] = MKFS[kind];
  await runCommand(mkfs, [...args, image], { timeoutMs: 120_000 });
  await mkdir(mountPoint, { recursive: true });
  await runCommand('mount', ['-o', 'loop', image, mountPoint]);
  return {
    mountPoint,
    dispose: async () => {
      await runCommand('umount', [mountPoint]).catch(() => runCommand('umount', ['-l', mountPoint]));
      await rm(image, { force: true });
    },
  };
}

import { randomFillSync } from 'node:crypto';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../../src/os/exec';
import { controllerPublish, controllerUnpublish, nodePublish, nodeStage, nodeUnpublish, nodeUnstage } from '../csi-ops';
import type { RunningDriver } from '../drivers';
import type { Recorder } from '../recorder';
import { MiB } from '../../support/units';

export { MiB } from '../../support/units';
const SMALL_FILE = 4096;

export interface DataShape {
  mib: number;
  smallFiles: number;
}

/** Bytes of the one large file: the volume's data less the small files. */
function largeBytes(shape: DataShape): number {
  return Math.max(MiB, shape.mib * MiB - shape.smallFiles * SMALL_FILE);
}

/**
 * Attaches, stages and publishes a volume, runs `fn` on the mounted target, and takes it down again: the order
 * external-attacher and kubelet follow. The reference driver refuses NodeStage of a volume that was not
 * ControllerPublished to the node (with attach on), so the attach step is not optional here.
 */
async function mounted(d: RunningDriver, rec: Recorder, dir: string, volumeId: string, fn: (target: string) => Promise<void>): Promise<boolean> {
  const staging = path.join(dir, `staging-${volumeId}`);
  const target = path.join(dir, `target-${volumeId}`);
  await mkdir(staging, { recursive: true });
  if (!(await controllerPublish(d, rec, volumeId))) return false;
  try {
    if (!(await nodeStage(d, rec, volumeId, staging))) return false;
    try {
      if (!(await nodePublish(d, rec, volumeId, staging, target))) return false;
      try {
        await fn(target);
      } finally {
        await nodeUnpublish(d, rec, volumeId, target);
      }
    } finally {
      await nodeUnstage(d, rec, volumeId, staging);
    }
  } finally {
    await controllerUnpublish(d, rec, volumeId);
  }
  return true;
}

/** Writes many small files plus one large file of random (incompressible) bytes through the volume's mount. */
export async function fillVolume(d: RunningDriver, rec: Recorder, dir: string, volumeId: string, shape: DataShape, syncFs: string): Promise<boolean> {
  const ok = await mounted(d, rec, dir, volumeId, async (target) => {
    await mkdir(path.join(target, 'small'));
    const small = Buffer.alloc(SMALL_FILE);
    for (let i = 0; i < shape.smallFiles; i++) await writeFile(path.join(target, 'small', `f${i}`), randomFillSync(small));
    const handle = await open(path.join(target, 'large.bin'), 'w');
    const chunk = Buffer.alloc(MiB);
    try {
      for (let left = largeBytes(shape); left > 0; left -= chunk.length) await handle.write(randomFillSync(chunk), 0, Math.min(left, chunk.length));
    } finally {
      await handle.close();
    }
  });
  // Written back before anything is timed: the copy measured is a copy, not the page cache's writeback.
  await runCommand('sync', ['-f', syncFs]);
  return ok;
}

/** Checks a restored or cloned volume holds what was written: every small file, and the large file's size. */
export async function checkVolumeData(d: RunningDriver, rec: Recorder, dir: string, volumeId: string, shape: DataShape, what: string): Promise<void> {
  const ok = await mounted(d, rec, dir, volumeId, async (target) => {
    const small = await readdir(path.join(target, 'small')).catch(() => [] as string[]);
    const large = await stat(path.join(target, 'large.bin')).catch(() => null);
    if (small.length !== shape.smallFiles || large?.size !== largeBytes(shape)) {
      rec.fail(what, `${what} holds ${small.length}/${shape.smallFiles} small files and a large file of ${large?.size ?? 'no'} bytes`);
    }
  });
  if (!ok) rec.fail(what, `could not mount the ${what} volume to check its data`);
}


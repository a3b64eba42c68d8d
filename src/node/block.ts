import type { Logger } from '../log';
import type { NodeDeps } from './node-deps';

/**
 * The image a volume's loop devices are backed by: the controller's volumes/<id>/disk.img, or for an inline volume
 * with `sizeLimit: image` (its node record says so) the node's own ephemeral/<id>/disk.img.
 */
export function blockImage(deps: NodeDeps, volumeId: string): string {
  if (deps.nodeRecords.get(volumeId)?.ephemeral?.fsType) return deps.layout.ephemeralImageFile(volumeId);
  return deps.controllerState.imageFile(volumeId);
}

/** The loop device already backed by the volume's image, or a newly attached one (idempotent across retries). */
export async function ensureLoop(deps: NodeDeps, volumeId: string, log: Logger): Promise<string> {
  const image = blockImage(deps, volumeId);
  const existing = await deps.loops.backingWritable(image);
  if (existing.length > 0) return existing[0]!;
  const device = await deps.loops.attach(image);
  log.info({ volumeId, device }, 'loop device attached');
  return device;
}

export async function currentLoop(deps: NodeDeps, volumeId: string): Promise<string | null> {
  return (await deps.loops.backingWritable(blockImage(deps, volumeId)))[0] ?? null;
}

/**
 * A read-only publish of a block volume gets its own read-only loop device: a read-only bind mount of a device node
 * does not stop writes to the device, a read-only loop device does.
 */
export async function attachReadOnlyLoop(deps: NodeDeps, volumeId: string, log: Logger): Promise<string> {
  const device = await deps.loops.attach(blockImage(deps, volumeId), { readOnly: true });
  log.info({ volumeId, device }, 'read-only loop device attached');
  return device;
}

/**
 * Detaches the read-only loop devices of a volume that no mount shows: the one of a target just unmounted, or one
 * left by a crash between attaching it and binding it. A loop device is found by its backing file, never by a name
 * remembered in a record: after a reboot the kernel gives that name to whoever attaches next.
 */
export async function detachUnusedReadOnlyLoops(deps: NodeDeps, volumeId: string, log: Logger): Promise<void> {
  const image = blockImage(deps, volumeId);
  const readOnly = await deps.loops.backingReadOnly(image);
  if (readOnly.length === 0) return;
  const mounted = new Set((await deps.mounter.list()).map((m) => /^\/(loop\d+)$/.exec(m.root)?.[1]).filter((n) => n !== undefined).map((n) => `/dev/${n}`));
  for (const device of readOnly.filter((d) => !mounted.has(d))) {
    await deps.loops.detach(device);
    log.info({ volumeId, device }, 'read-only loop device detached');
  }
}

export async function detachLoops(deps: NodeDeps, volumeId: string, log: Logger): Promise<void> {
  for (const device of await deps.loops.backing(blockImage(deps, volumeId))) {
    await deps.loops.detach(device);
    log.info({ volumeId, device }, 'loop device detached');
  }
}

/**
 * At start-up: a staged block volume whose loop device is gone (the node rebooted) gets one again, so the published
 * device paths kubelet re-creates point at the right data.
 */
export async function reattachStagedLoops(deps: NodeDeps, log: Logger): Promise<number> {
  let reattached = 0;
  for (const record of [...deps.nodeRecords.values()]) {
    if (!record.loopDevice) continue;
    const device = await currentLoop(deps, record.id);
    if (device === record.loopDevice) continue;
    try {
      const now = device ?? (await ensureLoop(deps, record.id, log));
      await deps.nodeRecords.put({ ...record, loopDevice: now });
      reattached++;
    } catch (err) {
      log.error({ volumeId: record.id, err: (err as Error).message }, 'could not re-attach the loop device of a staged block volume');
    }
  }
  return reattached;
}

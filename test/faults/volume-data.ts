import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { SLOT_BYTES, type DataKey, type VolumeKindSpec } from './kinds';
import type { Rng } from './rng';
import { dataKeyId, type DataItem, type VolumeModel } from './world';

const FILE_BYTES = 16 * 1024;
const SLOT_WRITE_BYTES = 64 * 1024;
const MAX_ITEMS = 6;

/** Where a data key lives when seen through a published target (a directory, or a device file). */
function throughTarget(kind: VolumeKindSpec, target: string, key: DataKey): { file: string; offset: number } {
  if ('file' in key) return { file: path.join(target, key.file), offset: 0 };
  if (kind.accessType !== 'block') throw new Error(`slot key on a ${kind.name} volume`);
  return { file: target, offset: key.slot * SLOT_BYTES };
}

async function writeAt(file: string, offset: number, data: Buffer, create: boolean): Promise<void> {
  const handle = await open(file, create ? 'w' : 'r+', 0o644);
  try {
    await handle.write(data, 0, data.length, offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function sha256At(file: string, offset: number, length: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    if (bytesRead !== length) return null;
    return createHash('sha256').update(buf).digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * A pod writes through a read-write target and fsyncs: from then on these bytes are acknowledged and must survive
 * every crash, restart and reboot. Files on filesystem volumes; 64 KiB at a 1 MiB slot on block volumes.
 */
export async function writeThroughTarget(vol: VolumeModel, target: string, rng: Rng): Promise<DataItem> {
  const existing = [...vol.data.values()];
  // Overwrites as well as new writes; a bounded number of items per volume keeps the per-round checks quick.
  const overwrite = existing.length >= MAX_ITEMS || (existing.length > 0 && rng.chance(0.3));
  let key: DataKey;
  let length: number;
  if (vol.kind.accessType === 'block') {
    key = overwrite ? rng.pick(existing).key : { slot: rng.int(Math.floor(vol.capacity / SLOT_BYTES)) };
    length = SLOT_WRITE_BYTES;
  } else {
    key = overwrite ? rng.pick(existing).key : { file: `f-${rng.int(1e9)}.bin` };
    length = FILE_BYTES;
  }
  const data = rng.bytes(length);
  const where = throughTarget(vol.kind, target, key);
  await writeAt(where.file, where.offset, data, 'file' in key);
  const item: DataItem = { key, length, sha256: createHash('sha256').update(data).digest('hex') };
  vol.data.set(dataKeyId(key), item);
  return item;
}

/** Reads an item through a published target; the checksum, or null if it could not be read. */
export function readThroughTarget(kind: VolumeKindSpec, target: string, item: DataItem): Promise<string | null> {
  const where = throughTarget(kind, target, item.key);
  return sha256At(where.file, where.offset, item.length);
}

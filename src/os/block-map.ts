import { open, type FileHandle } from 'node:fs/promises';
import { errnoName, loadLibc } from './libc';
import { SyscallError } from './mount-syscalls';

/** A byte range of a file: [offset, offset + length). Files here are far below 2^53 bytes, so numbers are exact. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** One extent of a file's FIEMAP: where `length` bytes at `logical` sit on the device. */
export interface PhysicalExtent {
  logical: number;
  physical: number;
  length: number;
  flags: number;
}

/** <linux/fiemap.h> extent flags this driver reads. */
export const FIEMAP_EXTENT_LAST = 0x1;
/** Location not known yet: the map cannot say whether two files share it. */
export const FIEMAP_EXTENT_UNKNOWN = 0x2;
export const FIEMAP_EXTENT_DELALLOC = 0x4;
/** Preallocated but never written: reads as zeros. */
export const FIEMAP_EXTENT_UNWRITTEN = 0x800;
export const FIEMAP_EXTENT_SHARED = 0x2000;

/**
 * What the SnapshotMetadata service reads of snapshot images (src/snapshots/metadata/): where a file holds data,
 * where its blocks sit on the device, and which blocks of two files differ. Faked in unit tests.
 */
export interface BlockMaps {
  /** The data ranges of `file` (lseek SEEK_DATA / SEEK_HOLE), in order, within [0, size). */
  dataRanges(file: string): Promise<ByteRange[]>;
  /** The extent map of `file` (FIEMAP with FIEMAP_FLAG_SYNC, so no delayed allocation is left), in order. */
  extents(file: string): Promise<PhysicalExtent[]>;
  /**
   * The blocks (of `blockSize`, aligned) within `within` whose bytes differ between `a` and `b`, merged into ranges;
   * bytes past either file's end read as zeros. Reads at most one chunk of each file at a time (bounded memory).
   */
  differingRanges(a: string, b: string, within: readonly ByteRange[], blockSize: number, signal?: AbortSignal): Promise<ByteRange[]>;
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
/** _IOWR('f', 11, struct fiemap): struct fiemap is 32 bytes. */
const FS_IOC_FIEMAP = 0xc020660b;
const FIEMAP_FLAG_SYNC = 0x1;
const FIEMAP_HEADER = 32;
const FIEMAP_EXTENT_SIZE = 56;
const EXTENTS_PER_CALL = 512;
const COMPARE_CHUNK = 1024 * 1024;

/** lseek; null when the kernel says ENXIO (no data, or no hole, at or after `offset`). */
function seek(fd: number, offset: number, whence: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = loadLibc();
    c.lseek.async(fd, offset, whence, (err: unknown, res: number | bigint) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      const pos = Number(res);
      if (pos >= 0) return resolve(pos);
      const errno = errnoName(c.koffi.errno());
      if (errno === 'ENXIO') return resolve(null);
      reject(new SyscallError(`lseek(${whence === SEEK_DATA ? 'SEEK_DATA' : 'SEEK_HOLE'}, ${offset})`, errno));
    });
  });
}

function fiemapCall(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = loadLibc();
    c.ioctl.async(fd, FS_IOC_FIEMAP, buf, (err: unknown, res: number) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      if (res !== 0) return reject(new SyscallError('ioctl(FS_IOC_FIEMAP)', errnoName(c.koffi.errno())));
      resolve();
    });
  });
}

async function withFile<T>(file: string, fn: (h: FileHandle) => Promise<T>): Promise<T> {
  const handle = await open(file, 'r');
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

/** One FIEMAP call: up to EXTENTS_PER_CALL extents from `start`. */
async function fiemapBatch(fd: number, start: number, sync: boolean): Promise<PhysicalExtent[]> {
  const buf = Buffer.alloc(FIEMAP_HEADER + EXTENTS_PER_CALL * FIEMAP_EXTENT_SIZE);
  buf.writeBigUInt64LE(BigInt(start), 0);
  buf.writeBigUInt64LE(0xffffffffffffffffn - BigInt(start), 8);
  buf.writeUInt32LE(sync ? FIEMAP_FLAG_SYNC : 0, 16);
  buf.writeUInt32LE(EXTENTS_PER_CALL, 24);
  await fiemapCall(fd, buf);
  const mapped = buf.readUInt32LE(20);
  const out: PhysicalExtent[] = [];
  for (let i = 0; i < mapped; i++) {
    const at = FIEMAP_HEADER + i * FIEMAP_EXTENT_SIZE;
    out.push({
      logical: Number(buf.readBigUInt64LE(at)),
      physical: Number(buf.readBigUInt64LE(at + 8)),
      length: Number(buf.readBigUInt64LE(at + 16)),
      flags: buf.readUInt32LE(at + 40),
    });
  }
  return out;
}

/** Compares `length` bytes at `offset` block by block, appending differing blocks to `out` (merged). */
async function compareChunk(ha: FileHandle, hb: FileHandle, offset: number, length: number, blockSize: number, out: ByteRange[]): Promise<void> {
  const a = Buffer.alloc(length);
  const b = Buffer.alloc(length);
  // Short reads past EOF leave the zero fill: beyond its end a file reads as zeros, like a hole.
  await ha.read(a, 0, length, offset);
  await hb.read(b, 0, length, offset);
  for (let at = 0; at < length; at += blockSize) {
    const end = Math.min(at + blockSize, length);
    if (a.compare(b, at, end, at, end) === 0) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset + at) last.length += end - at;
    else out.push({ offset: offset + at, length: end - at });
  }
}

export class SystemBlockMaps implements BlockMaps {
  async dataRanges(file: string): Promise<ByteRange[]> {
    return withFile(file, async (h) => {
      const size = (await h.stat()).size;
      const out: ByteRange[] = [];
      let pos = 0;
      while (pos < size) {
        const data = await seek(h.fd, pos, SEEK_DATA);
        if (data === null || data >= size) break;
        const hole = (await seek(h.fd, data, SEEK_HOLE)) ?? size;
        out.push({ offset: data, length: Math.min(hole, size) - data });
        pos = hole;
      }
      return out;
    });
  }

  async extents(file: string): Promise<PhysicalExtent[]> {
    return withFile(file, async (h) => {
      const out: PhysicalExtent[] = [];
      let start = 0;
      for (let first = true; ; first = false) {
        const batch = await fiemapBatch(h.fd, start, first);
        out.push(...batch);
        const last = batch[batch.length - 1];
        if (!last || (last.flags & FIEMAP_EXTENT_LAST) !== 0) return out;
        start = last.logical + last.length;
      }
    });
  }

  async differingRanges(a: string, b: string, within: readonly ByteRange[], blockSize: number, signal?: AbortSignal): Promise<ByteRange[]> {
    const chunk = Math.max(blockSize, Math.floor(COMPARE_CHUNK / blockSize) * blockSize);
    return withFile(a, (ha) =>
      withFile(b, async (hb) => {
        const out: ByteRange[] = [];
        for (const r of within) {
          for (let at = r.offset; at < r.offset + r.length; at += chunk) {
            signal?.throwIfAborted();
            await compareChunk(ha, hb, at, Math.min(chunk, r.offset + r.length - at), blockSize, out);
          }
        }
        return out;
      }),
    );
  }
}

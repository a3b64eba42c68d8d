import { stat } from 'node:fs/promises';
import type { CommandRunner } from './exec';

/** Loop devices through util-linux losetup(8); faked in unit tests. Loop devices are not namespaced: never leak one. */
export interface LoopDevices {
  /**
   * Loop devices currently backed by `file` (e.g. ["/dev/loop3"]): the same file (device and inode), whatever path
   * the kernel reports for it. The kernel reports the path as seen through the mount the device was attached
   * through; when that was another container's mount namespace, now gone (the driver's pod replaced), it reports
   * the path below that mount's root (/volumes/<id>/disk.img), so a path match alone would miss the device.
   */
  backing(file: string): Promise<string[]>;
  /** The read-write ones among them. */
  backingWritable(file: string): Promise<string[]>;
  /** The read-only ones among them. */
  backingReadOnly(file: string): Promise<string[]>;
  /** Attaches `file` to a free loop device (read-only if asked: the kernel then refuses writes) and returns its path. */
  attach(file: string, options?: { readOnly?: boolean }): Promise<string>;
  detach(device: string): Promise<void>;
  /** Makes the loop device see the backing file's new size (after growing it). */
  refreshSize(device: string): Promise<void>;
  /** Every attached loop device and its backing file. */
  list(): Promise<LoopInfo[]>;
}

export interface LoopInfo {
  device: string;
  /** The backing file's path as the kernel reports it (see backing()). */
  file: string;
  readOnly: boolean;
  /** The backing file's identity, "major:minor inode", when losetup reports it. */
  fileId?: string;
}

interface LosetupJson {
  loopdevices?: Array<{ name: string; 'back-file': string | null; 'back-ino'?: number | string | null; 'back-maj:min'?: string | null; ro: boolean | string | number }>;
}

/** "major:minor inode" of a file, decoding st_dev as glibc's makedev encodes it; null if it cannot be stat'ed. */
async function fileIdOf(file: string): Promise<string | null> {
  try {
    const s = await stat(file, { bigint: true });
    const major = ((s.dev >> 8n) & 0xfffn) | ((s.dev >> 32n) & ~0xfffn);
    const minor = (s.dev & 0xffn) | ((s.dev >> 12n) & ~0xffn);
    return `${major}:${minor} ${s.ino}`;
  } catch {
    return null;
  }
}

export class SystemLoopDevices implements LoopDevices {
  constructor(private readonly run: CommandRunner) {}

  async list(): Promise<LoopInfo[]> {
    const out = await this.run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN,RO']);
    if (out.trim() === '') return [];
    const parsed = JSON.parse(out) as LosetupJson;
    return (parsed.loopdevices ?? []).map((d) => {
      const majMin = (d['back-maj:min'] ?? '').trim();
      const ino = d['back-ino'] ?? '';
      return {
        device: d.name,
        file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, ''),
        readOnly: d.ro === true || d.ro === '1' || d.ro === 1,
        ...(majMin && ino !== '' ? { fileId: `${majMin} ${ino}` } : {}),
      };
    });
  }

  private async backingInfo(file: string): Promise<LoopInfo[]> {
    const [id, loops] = await Promise.all([fileIdOf(file), this.list()]);
    return loops.filter((l) => l.file === file || (id !== null && l.fileId === id));
  }

  async backing(file: string): Promise<string[]> {
    return (await this.backingInfo(file)).map((l) => l.device);
  }

  async backingWritable(file: string): Promise<string[]> {
    return (await this.backingInfo(file)).filter((l) => !l.readOnly).map((l) => l.device);
  }

  async backingReadOnly(file: string): Promise<string[]> {
    return (await this.backingInfo(file)).filter((l) => l.readOnly).map((l) => l.device);
  }

  async attach(file: string, options: { readOnly?: boolean } = {}): Promise<string> {
    const args = ['--find', '--show', ...(options.readOnly ? ['--read-only'] : []), '--', file];
    return (await this.run('losetup', args)).trim();
  }

  async detach(device: string): Promise<void> {
    await this.run('losetup', ['--detach', device]);
  }

  async refreshSize(device: string): Promise<void> {
    await this.run('losetup', ['--set-capacity', device]);
  }
}

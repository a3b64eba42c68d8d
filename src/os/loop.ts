import type { CommandRunner } from './exec';

/** Loop devices through util-linux losetup(8); faked in unit tests. Loop devices are not namespaced: never leak one. */
export interface LoopDevices {
  /** Loop devices currently backed by `file` (e.g. ["/dev/loop3"]). */
  backing(file: string): Promise<string[]>;
  /** The read-write ones among them. */
  backingWritable(file: string): Promise<string[]>;
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
  file: string;
  readOnly: boolean;
}

interface LosetupJson {
  loopdevices?: Array<{ name: string; 'back-file': string | null; ro: boolean | string | number }>;
}

export class SystemLoopDevices implements LoopDevices {
  constructor(private readonly run: CommandRunner) {}

  async list(): Promise<LoopInfo[]> {
    const out = await this.run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,RO']);
    if (out.trim() === '') return [];
    const parsed = JSON.parse(out) as LosetupJson;
    return (parsed.loopdevices ?? []).map((d) => ({
      device: d.name,
      file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, ''),
      readOnly: d.ro === true || d.ro === '1' || d.ro === 1,
    }));
  }

  async backing(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file).map((l) => l.device);
  }

  async backingWritable(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file && !l.readOnly).map((l) => l.device);
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

import type { CommandRunner } from './exec';

/** Loop devices through util-linux losetup(8); faked in unit tests. Loop devices are not namespaced: never leak one. */
export interface LoopDevices {
  /** Loop devices currently backed by `file` (e.g. ["/dev/loop3"]). */
  backing(file: string): Promise<string[]>;
  /** Attaches `file` to a free loop device and returns its path. */
  attach(file: string): Promise<string>;
  detach(device: string): Promise<void>;
  /** Makes the loop device see the backing file's new size (after growing it). */
  refreshSize(device: string): Promise<void>;
  /** Every attached loop device and its backing file. */
  list(): Promise<Array<{ device: string; file: string }>>;
}

interface LosetupJson {
  loopdevices?: Array<{ name: string; 'back-file': string | null }>;
}

export class SystemLoopDevices implements LoopDevices {
  constructor(private readonly run: CommandRunner) {}

  async list(): Promise<Array<{ device: string; file: string }>> {
    const out = await this.run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE']);
    if (out.trim() === '') return [];
    const parsed = JSON.parse(out) as LosetupJson;
    return (parsed.loopdevices ?? []).map((d) => ({ device: d.name, file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, '') }));
  }

  async backing(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file).map((l) => l.device);
  }

  async attach(file: string): Promise<string> {
    return (await this.run('losetup', ['--find', '--show', '--', file])).trim();
  }

  async detach(device: string): Promise<void> {
    await this.run('losetup', ['--detach', device]);
  }

  async refreshSize(device: string): Promise<void> {
    await this.run('losetup', ['--set-capacity', device]);
  }
}

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { runCommand } from '../src/os/exec';

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  go: string;
  scratchFs: string;
  commit: string;
  loadAverageAtStart: number[];
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  return (await runCommand(cmd, args).catch(() => 'unknown')).split('\n')[0]!.trim();
}

/** What a reader needs to weigh the figures: the machine, the toolchains, and how busy the machine already was. */
export async function machineFacts(scratchDir: string): Promise<MachineFacts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const fsLine = (await runCommand('df', ['--output=fstype,source', scratchDir]).catch(() => '')).split('\n')[1] ?? '';
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    go: await firstLine('go', ['version']),
    scratchFs: fsLine.trim().replace(/\s+/g, ' on '),
    commit: await firstLine('git', ['log', '-1', '--format=%h %s']),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

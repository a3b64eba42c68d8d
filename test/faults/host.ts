import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Host facts the invariants compare against, read independently of the driver's own code. */
export interface HostMount {
  mountPoint: string;
  root: string;
  /** The mount's source (for a loop-mounted filesystem, its /dev/loopN). */
  source: string;
}

export interface HostLoop {
  device: string;
  file: string;
  readOnly: boolean;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export async function mountsUnder(dir: string): Promise<HostMount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: HostMount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mountPoint = unescape(f[4]!);
    const sep = f.indexOf('-', 6);
    if (mountPoint.startsWith(`${dir}/`)) out.push({ mountPoint, root: unescape(f[3]!), source: sep > 0 ? unescape(f[sep + 2] ?? '') : '' });
  }
  return out;
}

export function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

/** Loop devices backed by files under `dir` (others on this shared host are none of our business). */
export async function loopsUnder(dir: string): Promise<HostLoop[]> {
  const text = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,RO']);
  if (text.trim() === '') return [];
  const parsed = JSON.parse(text) as { loopdevices?: Array<{ name: string; 'back-file': string | null; ro: unknown }> };
  return (parsed.loopdevices ?? [])
    .map((d) => ({ device: d.name, file: (d['back-file'] ?? '').replace(/ \(deleted\)$/, ''), readOnly: d.ro === true || d.ro === '1' || d.ro === 1 }))
    .filter((l) => l.file.startsWith(`${dir}/`));
}

/** What a reboot does to the node: every mount under `kubeletDir` and every loop device under `stateDir` is gone. */
export async function simulateReboot(kubeletDir: string, stateDir: string): Promise<{ mounts: number; loops: number }> {
  let mounts = 0;
  for (let i = 0; i < 256; i++) {
    const left = await mountsUnder(kubeletDir);
    if (left.length === 0) break;
    const deepest = [...left].sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0]!;
    await run('umount', ['--', deepest.mountPoint]);
    mounts++;
  }
  const loops = await loopsUnder(stateDir);
  for (const l of loops) await run('losetup', ['--detach', l.device]);
  return { mounts, loops: loops.length };
}

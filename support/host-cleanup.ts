/** Mount-aware clean-up of scratch directories, shared by the tests and the bench. */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points of this process's namespace, in mount order (a stacked point appears once per layer). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapeOctal(l.split(' ')[4]!));
}

export async function mountPointsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await mountPoints()).filter((m) => m === dir || m.startsWith(prefix));
}

function umount(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('umount', [...args], { timeout: 10_000 }, (err, _out, stderr) => (err ? reject(new Error(`umount ${args.join(' ')}: ${stderr}`)) : resolve()));
  });
}

/** Unmounts everything mounted under `dir` (deepest and most recent first), then removes it. */
export async function cleanupDir(dir: string): Promise<void> {
  for (let round = 0; round < 64; round++) {
    const mounted = await mountPointsUnder(dir);
    if (mounted.length === 0) break;
    const deepest = [...mounted].sort((a, b) => b.split('/').length - a.split('/').length)[0]!;
    // A busy mount is detached lazily so a failed test never leaves a mount behind.
    await umount(['--', deepest]).catch(() => umount(['-l', '--', deepest]));
  }
  const left = await mountPointsUnder(dir);
  // Never let rm recurse through a mount: it would delete whatever is mounted there.
  if (left.length > 0) throw new Error(`cannot clean ${dir}: still mounted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

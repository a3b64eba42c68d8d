import { readFile } from 'node:fs/promises';
import type { CommandRunner } from './exec';
import { MS_BIND, mountSyscall, umountSyscall } from './mount-syscalls';

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  mountPoint: string;
  /** Path of the mounted directory inside its filesystem (for a bind mount: the bound directory). */
  root: string;
  /** "major:minor" of the filesystem. */
  device: string;
  fsType: string;
  source: string;
  options: string[];
  /** Options of the filesystem itself (the field after the source), e.g. "prjquota" on XFS. */
  superOptions: string[];
}

export interface BindOptions {
  readonly: boolean;
  /** Extra mount options from the volume capability, already validated. */
  flags: readonly string[];
}

/** The mount operations the node service needs; faked in unit tests. */
export interface Mounter {
  bind(source: string, target: string, options: BindOptions): Promise<void>;
  /** Mounts the filesystem on `device` (a loop device holding an image volume) at `target`. */
  mountDevice(device: string, target: string, fsType: string): Promise<void>;
  /**
   * `bind`: the caller knows the mount is a bind of a subtree or device node whose filesystem stays mounted
   * elsewhere, so unmounting it never writes a filesystem back and may take the fast path.
   */
  unmount(target: string, kind?: 'bind' | 'filesystem'): Promise<void>;
  list(): Promise<MountEntry[]>;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    entries.push({
      device: fields[2]!,
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      options: fields[5]!.split(','),
      fsType: fields[sep + 1]!,
      source: unescapeMountField(fields[sep + 2]!),
      superOptions: (fields[sep + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return entries;
}

/**
 * Real mounts. Bind mounts and their unmounts are syscalls (src/os/mount-syscalls.ts: no process per call on the
 * lifecycle path); option remounts and filesystem mounts go through util-linux mount(8)/umount(8) with argv arrays,
 * because mount(8) keeps a bind's other per-mount flags (nodev, nosuid, ...) when it remounts it read-only, parses
 * the capability's mount flags, and unmounting a whole filesystem may write it back for a long time (a process, not
 * a thread-pool thread the journal needs).
 */
export class SystemMounter implements Mounter {
  constructor(private readonly run: CommandRunner) {}

  async bind(source: string, target: string, options: BindOptions): Promise<void> {
    await mountSyscall(source, target, null, MS_BIND);
    if (!options.readonly && options.flags.length === 0) return;
    // A bind mount ignores most options on creation; they take effect on a remount of the bind (mount(8)).
    const opts = ['remount', 'bind', ...(options.readonly ? ['ro'] : []), ...options.flags].join(',');
    try {
      await this.run('mount', ['-o', opts, '--', target]);
    } catch (err) {
      await this.unmount(target).catch(() => undefined);
      throw err;
    }
  }

  async mountDevice(device: string, target: string, fsType: string): Promise<void> {
    // xfs refuses to mount a second filesystem with the UUID of one already mounted, and a clone or a restore of an
    // xfs image volume is a copy with the source's UUID: nouuid lets both be staged on this node at once (Kubernetes'
    // External Storage suite mounts a volume and its clone side by side).
    const options = fsType === 'xfs' ? ['-o', 'nouuid'] : [];
    await this.run('mount', ['-t', fsType, ...options, '--', device, target]);
  }

  async unmount(target: string, kind: 'bind' | 'filesystem' = 'filesystem'): Promise<void> {
    if (kind === 'bind') await umountSyscall(target);
    else await this.run('umount', ['--', target]);
  }

  async list(): Promise<MountEntry[]> {
    return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  }
}

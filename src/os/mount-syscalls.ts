import type Koffi from 'koffi';
import { constants as osConstants } from 'node:os';

/**
 * mount(2) and umount2(2) called directly through libc (koffi FFI), for the bind mounts on every NodeStage and
 * NodePublish of a directory or block volume. Spawning mount(8)/umount(8) for these was the largest cost on the
 * lifecycle path: Node forks on the main thread, and a CPU profile of the bench's lifecycle scenario put 23 % of the
 * driver's CPU in ChildProcess.spawn. The calls run on libuv's thread pool (koffi's `.async`), so a slow kernel
 * call never stalls the event loop; koffi hands the worker thread's errno to the callback.
 */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    /** errno name, e.g. EINVAL. Not named `code`: grpc-js would send a numeric `code` as a status. */
    readonly errno: string,
  ) {
    super(`${call} failed: ${errno}`);
    this.name = 'SyscallError';
  }
}

/** <linux/mount.h> */
export const MS_RDONLY = 0x1;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;

interface AsyncFn {
  async(...args: unknown[]): void;
}

interface Libc {
  koffi: typeof Koffi;
  mount: AsyncFn;
  umount2: AsyncFn;
}

let libc: Libc | null = null;

/** Loaded on the first mount, not at start-up: a controller-only process never needs it (start time, memory). */
function functions(): Libc {
  if (libc === null) {
    const koffi = require('koffi') as typeof Koffi;
    const lib = koffi.load('libc.so.6');
    libc = {
      koffi,
      mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)') as unknown as AsyncFn,
      umount2: lib.func('int umount2(const char *target, int flags)') as unknown as AsyncFn,
    };
  }
  return libc;
}

function errnoName(n: number): string {
  const entry = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return entry ? entry[0] : `errno ${n}`;
}

function callAsync(name: string, fn: (c: Libc) => AsyncFn, args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = functions();
    fn(c).async(...args, (err: unknown, res: number) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      // Read inside the callback: koffi restores the worker's errno only for its duration.
      if (res !== 0) return reject(new SyscallError(`${name}(${String(args[1] ?? args[0])})`, errnoName(c.koffi.errno())));
      resolve();
    });
  });
}

/** mount(2); `source`/`fstype` may be null where the kernel ignores them (MS_REMOUNT). */
export function mountSyscall(source: string | null, target: string, fstype: string | null, flags: number): Promise<void> {
  return callAsync('mount', (c) => c.mount, [source, target, fstype, flags, null]);
}

/** umount2(2) with no flags: a busy mount fails with EBUSY, as umount(8) does. */
export function umountSyscall(target: string): Promise<void> {
  return callAsync('umount2', (c) => c.umount2, [target, 0]);
}

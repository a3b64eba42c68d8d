import { errnoName, loadLibc, type AsyncFn, type Libc } from './libc';

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

function callAsync(name: string, fn: (c: Libc) => AsyncFn, args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = loadLibc();
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

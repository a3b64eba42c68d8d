import type Koffi from 'koffi';
import { constants as osConstants } from 'node:os';

/**
 * The few libc calls Node has no API for, through the koffi FFI library: mount(2)/umount2(2) for bind mounts
 * (src/os/mount-syscalls.ts), flock(2) for the state directory's role locks (src/os/state-lock.ts), and lseek(2)
 * SEEK_DATA/SEEK_HOLE and ioctl(2) FIEMAP for snapshot block maps (src/os/block-map.ts). Loaded on first use, not at
 * start-up.
 */
export interface AsyncFn {
  async(...args: unknown[]): void;
}

export interface Libc {
  koffi: typeof Koffi;
  mount: AsyncFn;
  umount2: AsyncFn;
  flock: (fd: number, operation: number) => number;
  lseek: AsyncFn;
  ioctl: AsyncFn;
}

let libc: Libc | null = null;

export function loadLibc(): Libc {
  if (libc === null) {
    const koffi = require('koffi') as typeof Koffi;
    const lib = koffi.load('libc.so.6');
    libc = {
      koffi,
      mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)') as unknown as AsyncFn,
      umount2: lib.func('int umount2(const char *target, int flags)') as unknown as AsyncFn,
      flock: lib.func('int flock(int fd, int operation)') as unknown as (fd: number, operation: number) => number,
      lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)') as unknown as AsyncFn,
      // ioctl is variadic; its third argument is passed like a fixed pointer argument on Linux's x86-64 and arm64 ABIs.
      ioctl: lib.func('int ioctl(int fd, unsigned long request, void *arg)') as unknown as AsyncFn,
    };
  }
  return libc;
}

/** The name of an errno value (EINVAL, ...), as Node's own errors carry it. */
export function errnoName(n: number): string {
  const entry = Object.entries(osConstants.errno).find(([, v]) => v === n);
  return entry ? entry[0] : `errno ${n}`;
}

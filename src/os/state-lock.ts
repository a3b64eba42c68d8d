import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoName, loadLibc } from './libc';

/** flock(2) operations (<sys/file.h>). */
const LOCK_EX = 2;
const LOCK_NB = 4;

/** Another live process of the same role holds the state directory: this one must not touch it. */
export class StateDirLockedError extends Error {}

/** A held role lock; released by release() or, whatever happens, by the kernel when the process dies. */
export interface RoleLock {
  release(): void;
}

/**
 * Takes the exclusive lock of one role ("controller" or "node") on a state directory: flock(2) on
 * `<stateDir>/<role>.lock`, without waiting. flock rather than a PID file because the kernel drops it when the
 * holder dies however it dies (SIGKILL included), so there is no stale lock to judge, and it works across PID
 * namespaces (two pods sharing a hostPath state directory). The file is opened close-on-exec, so child processes
 * (cp, mkfs) never hold it. Synchronous: taken once, before the socket is bound.
 */
export function lockRole(stateDir: string, role: 'controller' | 'node'): RoleLock {
  const file = path.join(stateDir, `${role}.lock`);
  const fd = openSync(file, 'a+', 0o600);
  if (loadLibc().flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const why = errnoName(loadLibc().koffi.errno());
    const holder = readFileSync(file, 'utf8').trim();
    closeSync(fd);
    if (why !== 'EWOULDBLOCK' && why !== 'EAGAIN') throw new Error(`flock ${file} failed: ${why}`);
    throw new StateDirLockedError(
      `another ${role} process${holder ? ` (pid ${holder})` : ''} is using the state directory ${stateDir}: only one ${role} may run on it`,
    );
  }
  // Who holds it, for the message a second process prints; the lock itself is the flock, not this content.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

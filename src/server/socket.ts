import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';

/** Something other than a stale socket is in the way; the driver refuses to start rather than remove it. */
export class SocketInUseError extends Error {}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Makes the socket's directory and removes a socket left by a process that is gone (nobody answers on it). */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
  const existing = await lstat(socketPath).catch(() => null);
  if (!existing) return;
  if (!existing.isSocket()) throw new SocketInUseError(`${socketPath} exists and is not a socket; refusing to remove it`);
  if (await answers(socketPath)) throw new SocketInUseError(`another process is serving on ${socketPath}`);
  await unlink(socketPath);
}

export async function setSocketMode(socketPath: string, mode: number): Promise<void> {
  await chmod(socketPath, mode);
}

export async function removeSocket(socketPath: string): Promise<void> {
  await unlink(socketPath).catch(() => undefined);
}

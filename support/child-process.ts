import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child the bench or a docs tool started: SIGTERM, then SIGKILL if it has not exited after `graceMs`;
 * resolves once it has exited. Only for a child still running: an exited child never emits 'exit' again.
 */
export async function terminateChild(proc: ChildProcess, graceMs = 15_000): Promise<void> {
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { cluster } from './cluster';

/**
 * Files on the node (the driver's state directory), as the cases check them: on this host for the local cluster,
 * through cluster.nodeExec (kind: `docker exec <node>`) where the node is a container.
 */

const run = promisify(execFile);

function onNode(script: string, ...args: string[]): Promise<string> {
  const [cmd, ...prefix] = cluster.nodeExec;
  return run(cmd!, [...prefix, 'sh', '-c', script, 'sh', ...args], { timeout: 60_000 }).then((r) => r.stdout);
}

export async function nodeExists(file: string): Promise<boolean> {
  if (!cluster.nodeExec.length) return existsSync(file);
  return (await onNode('if [ -e "$1" ]; then echo yes; fi', file)).trim() === 'yes';
}

/** The names in a directory; none if it does not exist. */
export async function nodeReaddir(dir: string): Promise<string[]> {
  if (!cluster.nodeExec.length) return existsSync(dir) ? readdir(dir) : [];
  return (await onNode('[ ! -d "$1" ] || ls -A "$1"', dir)).split('\n').filter(Boolean);
}

/** The file's sha256, hex. */
export async function nodeSha256(file: string): Promise<string> {
  if (!cluster.nodeExec.length) return createHash('sha256').update(await readFile(file)).digest('hex');
  return (await onNode('sha256sum < "$1"', file)).split(' ')[0]!;
}

/** Removes a file or directory tree on the node (a case breaking a volume on purpose). */
export async function nodeRemove(target: string): Promise<void> {
  if (!cluster.nodeExec.length) return rm(target, { recursive: true, force: true });
  await onNode('rm -rf -- "$1"', target);
}

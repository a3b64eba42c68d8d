import path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import type { HostFs } from '../os/host-fs';
import { isStrictlyUnder } from '../validate/fields';
import type { NodeVolumeRecord, VolumeRecord } from './model';
import { realVolumeRoot } from './roots';

/**
 * Static (pre-provisioned) volumes: a PersistentVolume an administrator writes for a directory that already exists
 * on one node. Its volumeHandle starts with STATIC_ID_PREFIX (the driver's own IDs are UUIDs and never do), and its
 * volumeAttributes say where the directory is:
 *   node  the node ID whose disk holds it (the PV's nodeAffinity should say the same)
 *   root  the key of one of that node's --volume-roots
 *   path  the directory below that root (relative, no '..'); it must exist
 * The controller keeps no record of it and never deletes it (DeleteVolume answers OK and touches nothing); the node
 * resolves it at NodeStageVolume and keeps its real path in the node record, so publish, stats, health and unstage
 * find it without the attributes (kubelet passes volume_context to stage and publish only).
 */
export const STATIC_ID_PREFIX = 'static.';
export const STATIC_NODE_KEY = 'node';
export const STATIC_ROOT_KEY = 'root';
export const STATIC_PATH_KEY = 'path';

export const isStaticVolumeId = (id: string): boolean => id.startsWith(STATIC_ID_PREFIX);

export interface StaticAttributes {
  node: string;
  root: string;
  path: string;
}

export function parseStaticAttributes(volumeId: string, context: Readonly<Record<string, string>>): StaticAttributes {
  const missing = [STATIC_NODE_KEY, STATIC_ROOT_KEY, STATIC_PATH_KEY].filter((k) => (context[k] ?? '') === '');
  if (missing.length > 0) throw new InvalidArgumentError(`static volume ${volumeId} needs volumeAttributes ${missing.join(', ')}`);
  const rel = context[STATIC_PATH_KEY]!;
  if (path.isAbsolute(rel) || rel.includes('\0') || rel.split('/').includes('..')) {
    throw new InvalidArgumentError(`static volume ${volumeId}: volumeAttributes path ${JSON.stringify(rel.slice(0, 128))} must be relative to its root, without '..'`);
  }
  return { node: context[STATIC_NODE_KEY]!, root: context[STATIC_ROOT_KEY]!, path: rel };
}

/** ControllerPublishVolume of a static volume: only to the node that holds it. */
export function checkStaticNode(volumeId: string, attrs: StaticAttributes, nodeId: string): void {
  if (attrs.node !== nodeId) throw new FailedPreconditionError(`static volume ${volumeId} is on node ${attrs.node}, not ${nodeId}`);
}

/**
 * The real path of a static volume's directory on this node: the right node, a configured root, and a directory
 * that resolves (symlinks followed) strictly under the root's real path. Anything else is refused before any mount.
 */
export async function resolveStaticDir(fs: HostFs, volumeId: string, attrs: StaticAttributes, nodeId: string, roots: ReadonlyMap<string, string>): Promise<string> {
  checkStaticNode(volumeId, attrs, nodeId);
  const configured = roots.get(attrs.root);
  if (configured === undefined) throw new InvalidArgumentError(`static volume ${volumeId}: root ${JSON.stringify(attrs.root.slice(0, 64))} is not one of this node's --volume-roots`);
  const root = await realVolumeRoot(fs, configured);
  if (root === null) throw new FailedPreconditionError(`static volume ${volumeId}: volume root ${attrs.root} (${configured}) is not a directory on this node`);
  const dir = await fs.realpath(path.join(root, attrs.path)).catch(() => null);
  if (dir === null) throw new NotFoundError(`static volume ${volumeId}: ${path.join(configured, attrs.path)} does not exist on this node`);
  if (!isStrictlyUnder(dir, root)) throw new InvalidArgumentError(`static volume ${volumeId}: ${path.join(configured, attrs.path)} resolves outside its root ${configured}`);
  if ((await fs.stat(dir)).type !== 'directory') throw new FailedPreconditionError(`static volume ${volumeId}: ${dir} is not a directory`);
  return dir;
}

/**
 * What node code sees of a static volume once staged: a dir volume at its directory. Its capacity is 0 (nobody told
 * the driver a size), so stats report what it uses, not a limit.
 */
export function staticVolumeRecord(volumeId: string, dir: string, nodeId: string): VolumeRecord {
  return {
    id: volumeId,
    name: volumeId,
    capacityBytes: '0',
    kind: 'dir',
    accessType: 'mount',
    parameters: {},
    mutableParameters: {},
    nodeId,
    contentSource: null,
    phase: 'ready',
    createdAt: new Date(0).toISOString(),
    dataDir: dir,
  };
}

/** A staged static volume as node code sees it, from its node record; null when it is not staged here. */
export function stagedStaticVolume(record: NodeVolumeRecord | undefined, nodeId: string): VolumeRecord | null {
  return record?.staticDir ? staticVolumeRecord(record.id, record.staticDir, nodeId) : null;
}

import path from 'node:path';
import { InvalidArgumentError } from '../errors';

/** IDs we hand out and accept: they become file names under the state directory, so nothing else is allowed. */
const OBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_ID_BYTES = 128;
export const MAX_NAME_BYTES = 256;
export const MAX_PATH_BYTES = 4096;

export function requireField(field: string, value: string): string {
  if (value === '') throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** A volume or snapshot ID from a request: a plain file name of ours, never a path. */
export function validateObjectId(field: string, id: string): string {
  requireField(field, id);
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw new InvalidArgumentError(`${field} is longer than ${MAX_ID_BYTES} bytes`);
  if (!OBJECT_ID.test(id)) {
    throw new InvalidArgumentError(`${field} ${JSON.stringify(id)} may only contain letters, digits, '.', '_' and '-'`);
  }
  return id;
}

/** A CO-chosen name (CSI spec: SHOULD allow at least 128 characters); only ever used as a map key, never a path. */
export function validateName(field: string, name: string): string {
  requireField(field, name);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidArgumentError(`${field} is longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes('\0')) throw new InvalidArgumentError(`${field} contains a NUL byte`);
  return name;
}

export function validateNodeId(field: string, id: string): string {
  requireField(field, id);
  if (Buffer.byteLength(id) > 256 || id.includes('\0')) throw new InvalidArgumentError(`${field} must be at most 256 bytes without NUL`);
  return id;
}

/** True when `p` (normalised) lies strictly below `root`; `/` as the root admits every other absolute path. */
export function isStrictlyUnder(p: string, root: string): boolean {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return p !== root && p.startsWith(prefix);
}

/**
 * Why a host path given by the CO is unusable, or null when it is a clean absolute path strictly under
 * `allowedRoot` (--allowed-path-root: kubelet's directory; the driver never mounts or creates anything elsewhere).
 */
export function hostPathProblem(p: string, allowedRoot: string): string | null {
  if (p.includes('\0')) return 'contains a NUL byte';
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (!path.isAbsolute(p)) return 'is not an absolute path';
  if (p.split('/').includes('..')) return "contains '..'";
  const normal = path.normalize(p).replace(/(.)\/+$/, '$1');
  if (normal === '/') return 'is the root directory';
  if (!isStrictlyUnder(normal, allowedRoot)) return `is not under the allowed root ${allowedRoot} (--allowed-path-root)`;
  return null;
}

/** A target or staging path: absolute, no `..`, no NUL, under the allowed root. Returns it normalised (no trailing slash). */
export function validateHostPath(field: string, p: string, allowedRoot: string): string {
  requireField(field, p);
  const problem = hostPathProblem(p, allowedRoot);
  if (problem) throw new InvalidArgumentError(`${field} ${problem}`);
  return path.normalize(p).replace(/\/+$/, '');
}

/** Parameter maps are copied into records and logs: keep them bounded. */
export function validateStringMap(field: string, map: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(map);
  if (entries.length > 128) throw new InvalidArgumentError(`${field} has more than 128 entries`);
  for (const [k, v] of entries) {
    if (k.length > 316 || v.length > 4096) throw new InvalidArgumentError(`${field} entry ${JSON.stringify(k.slice(0, 64))} is too long`);
  }
  return Object.fromEntries(entries);
}

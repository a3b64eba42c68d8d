import { InvalidArgumentError } from '../errors';
import { hasHostRoot } from './kind-choice';
import type { VolumeKind } from './volume-kind';

/**
 * StorageClass parameters that set the mode and owner of a new volume's root directory (what local-path-provisioner
 * and democratic-csi users set per class). Unset, a root is 0777 and owned by the driver (root), as before: pods run
 * as arbitrary users, and with CSIDriver fsGroupPolicy File kubelet narrows group ownership itself.
 *   dirMode  octal permission bits, e.g. "0750" or "2770" (setuid, setgid and sticky bits allowed)
 *   dirUid   decimal user ID the root is given
 *   dirGid   decimal group ID the root is given
 */
export const DIR_MODE_KEY = 'dirMode';
export const DIR_UID_KEY = 'dirUid';
export const DIR_GID_KEY = 'dirGid';

/** The mode a root gets when the class names none. */
export const DEFAULT_ROOT_MODE = 0o777;

export interface RootOwnership {
  mode: number;
  /** null: left as created (the driver's own user). */
  uid: number | null;
  gid: number | null;
}

/** Largest ID accepted: 2^32-2 (2^32-1 is (uid_t)-1, which chown(2) reads as "leave unchanged"). */
const MAX_ID = 4_294_967_294;

function parseMode(value: string): number {
  if (!/^0?[0-7]{3,4}$/.test(value)) {
    throw new InvalidArgumentError(`parameter ${DIR_MODE_KEY} ${JSON.stringify(value.slice(0, 64))} must be octal permission bits such as 0750 or 2770`);
  }
  return Number.parseInt(value, 8);
}

function parseId(key: string, value: string): number {
  const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n <= MAX_ID)) throw new InvalidArgumentError(`parameter ${key} ${JSON.stringify(value.slice(0, 64))} must be a decimal ID from 0 to ${MAX_ID}`);
  return n;
}

const given = (parameters: Readonly<Record<string, string>>, key: string): string | null => {
  const v = parameters[key];
  return v === undefined || v === '' ? null : v;
};

/**
 * The ownership a class asks for a new volume's root. A class that names any of these keys for a kind without a host
 * directory as root (block, image) is INVALID_ARGUMENT rather than silently ignored.
 */
export function parseRootOwnership(parameters: Readonly<Record<string, string>>, kind: VolumeKind): RootOwnership {
  const mode = given(parameters, DIR_MODE_KEY);
  const uid = given(parameters, DIR_UID_KEY);
  const gid = given(parameters, DIR_GID_KEY);
  const named = [mode !== null ? DIR_MODE_KEY : '', uid !== null ? DIR_UID_KEY : '', gid !== null ? DIR_GID_KEY : ''].filter((k) => k !== '');
  if (named.length > 0 && !hasHostRoot(kind)) {
    throw new InvalidArgumentError(`parameters ${named.join(', ')} apply to dir and quota volumes only, not to ${kind} volumes`);
  }
  return {
    mode: mode === null ? DEFAULT_ROOT_MODE : parseMode(mode),
    uid: uid === null ? null : parseId(DIR_UID_KEY, uid),
    gid: gid === null ? null : parseId(DIR_GID_KEY, gid),
  };
}

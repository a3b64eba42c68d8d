import { InvalidArgumentError } from '../errors';
import { mayLiveUnderRoot } from './kind-choice';
import type { VolumeKind } from './volume-kind';

/**
 * StorageClass parameters that put a dir volume outside the state directory, in a directory named after its PVC
 * (local-path-provisioner's layout):
 *   root        the key of one of this node's --volume-roots (a class never names a path)
 *   dirPattern  the directory's name, built from {pvc.namespace}, {pvc.name} (external-provisioner passes them with
 *               --extra-create-metadata) and {pv} (the CreateVolume name, pvc-<uid>); default {pv}
 * The name is sanitised to [A-Za-z0-9._-] (anything else becomes '_'), may not start with '.', and is cut to
 * MAX_DIR_NAME bytes. When it is taken (another volume's directory, or anything already there) the volume ID is
 * appended: the name is a convenience for a human, the volume ID stays the driver's own.
 */
export const ROOT_KEY = 'root';
export const DIR_PATTERN_KEY = 'dirPattern';
export const PVC_NAME_KEY = 'csi.storage.k8s.io/pvc/name';
export const PVC_NAMESPACE_KEY = 'csi.storage.k8s.io/pvc/namespace';

const DEFAULT_PATTERN = '{pv}';
const TOKENS = ['{pvc.namespace}', '{pvc.name}', '{pv}'] as const;
/** Room below NAME_MAX (255) for the '-<volume-id>' a collision appends. */
export const MAX_DIR_NAME = 180;

export interface DirPlacement {
  rootKey: string;
  /** The directory's name below the root, sanitised; before any collision suffix. */
  name: string;
}

function expand(pattern: string, parameters: Readonly<Record<string, string>>, pvName: string): string {
  const values: Record<(typeof TOKENS)[number], string | undefined> = {
    '{pvc.namespace}': parameters[PVC_NAMESPACE_KEY],
    '{pvc.name}': parameters[PVC_NAME_KEY],
    '{pv}': pvName,
  };
  const stray = pattern.replace(/\{pvc\.namespace\}|\{pvc\.name\}|\{pv\}/g, '');
  if (/[{}]/.test(stray)) throw new InvalidArgumentError(`parameter ${DIR_PATTERN_KEY} ${JSON.stringify(pattern.slice(0, 64))} may use only ${TOKENS.join(', ')}`);
  return pattern.replace(/\{pvc\.namespace\}|\{pvc\.name\}|\{pv\}/g, (token) => {
    const v = values[token as (typeof TOKENS)[number]];
    if (v === undefined || v === '') {
      throw new InvalidArgumentError(`parameter ${DIR_PATTERN_KEY} uses ${token}, which this request does not carry (is external-provisioner run with --extra-create-metadata?)`);
    }
    return v;
  });
}

/** What a path component may be: no '/', no NUL, never '.' or '..' or hidden; bounded. */
export function sanitiseDirName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length)).slice(0, MAX_DIR_NAME);
  return cleaned === '' ? '_' : cleaned;
}

/**
 * Where a new volume asks to live, or null for the state directory. Only dir volumes may name a root: a quota needs
 * the state directory's filesystem (its project quotas), and an image or block volume's file stays with the driver.
 */
export function parseDirPlacement(parameters: Readonly<Record<string, string>>, kind: VolumeKind, pvName: string, roots: ReadonlyMap<string, string>): DirPlacement | null {
  const rootKey = parameters[ROOT_KEY] ?? '';
  const pattern = parameters[DIR_PATTERN_KEY] ?? '';
  if (rootKey === '') {
    if (pattern !== '') throw new InvalidArgumentError(`parameter ${DIR_PATTERN_KEY} needs parameter ${ROOT_KEY} (volumes in the state directory are named by their ID)`);
    return null;
  }
  if (!mayLiveUnderRoot(kind)) throw new InvalidArgumentError(`parameter ${ROOT_KEY} applies to dir volumes only (sizeLimit none, mount access), not to ${kind} volumes`);
  if (!roots.has(rootKey)) {
    const known = [...roots.keys()];
    throw new InvalidArgumentError(`parameter ${ROOT_KEY} ${JSON.stringify(rootKey.slice(0, 64))} is not one of this node's --volume-roots (${known.length > 0 ? known.join(', ') : 'none configured'})`);
  }
  return { rootKey, name: sanitiseDirName(expand(pattern === '' ? DEFAULT_PATTERN : pattern, parameters, pvName)) };
}

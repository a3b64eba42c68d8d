import { parseRootOwnership } from '../domain/ownership';
import type { HostFs } from '../os/host-fs';
import type { VolumeRecord } from '../volumes/model';

/**
 * Gives a new dir or quota volume's root the mode and owner its class asks for (src/domain/ownership.ts). chmod after
 * chown: chown(2) clears setuid/setgid bits, which a class may ask for. Both are idempotent, so a retried create
 * converges. The parameters were checked at CreateVolume; a record written before they existed reads as the default.
 */
export async function applyRootOwnership(fs: HostFs, dir: string, volume: VolumeRecord): Promise<void> {
  const own = parseRootOwnership(volume.parameters, volume.kind);
  if (own.uid !== null || own.gid !== null) await fs.chown(dir, own.uid, own.gid);
  await fs.chmod(dir, own.mode);
}

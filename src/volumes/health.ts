import { decodeToken, encodeToken } from '../domain/paging';
import { backendFor, type ControllerDeps } from './controller-deps';
import type { VolumeRecord } from './model';
import { healthChecksFor } from './health-checks';
import { finding, type HealthFinding, type VolumeHealthReport } from '../domain/health';

export type ControllerHealthDeps = ControllerDeps;

/**
 * The controller's view of one ready volume (CSI v1.13, ControllerGetVolumeHealth): its data where its backend
 * keeps it, by its kind's checks, and any attachment record that could not be read.
 */
export async function controllerFindings(deps: ControllerHealthDeps, vol: VolumeRecord): Promise<HealthFinding[]> {
  const found: HealthFinding[] = [];
  if (deps.catalog.quarantinedAttachmentsOf(vol.id).length > 0) {
    found.push(finding('DEGRADED', 'AttachmentRecordQuarantined', 'an attachment record of this volume is unreadable (moved to the quarantine directory); ControllerUnpublishVolume settles it'));
  }
  const backend = backendFor(deps, vol.kind);
  const unsupported = backend.unsupportedReason();
  if (unsupported !== null) found.push(finding('DEGRADED', 'KindUnsupported', `this node cannot keep ${vol.kind} volumes as promised: ${unsupported}`));
  const checks = healthChecksFor(deps, vol.kind);
  found.push(...(await checks.storage({ probe: deps.healthProbe, statFs: deps.statFs, dataPath: checks.dataPath(deps.layout, vol) }, vol)));
  return found;
}

/** A volume whose record was unreadable at start-up: everything but its ID is unknown. */
export function quarantinedFinding(movedTo: string): HealthFinding {
  return finding('INACCESSIBLE', 'RecordQuarantined', `the volume's state record was unreadable and was moved to ${movedTo}; its data is left in place`);
}

/** Health of a volume the catalog lists: ready ones are checked, quarantined ones are reported as such. */
export async function reportFor(deps: ControllerHealthDeps, volumeId: string): Promise<VolumeHealthReport | null> {
  const movedTo = deps.catalog.quarantinedVolume(volumeId);
  if (movedTo !== undefined) return { volumeId, findings: [quarantinedFinding(movedTo)] };
  const vol = deps.catalog.getVolume(volumeId);
  if (!vol || vol.phase !== 'ready') return null;
  return { volumeId, findings: await controllerFindings(deps, vol) };
}

export interface HealthPage {
  reports: VolumeHealthReport[];
  nextToken: string;
}

/**
 * CSI v1.13, ControllerListVolumeHealth: the same volumes, order and opaque tokens as ListVolumes (the catalog's
 * sorted ID index), so a CO can page through both alike; an invalid starting_token is ABORTED.
 */
export async function listVolumeHealth(deps: ControllerHealthDeps, maxEntries: number, startingToken: string): Promise<HealthPage> {
  const listed = (id: string): boolean => deps.catalog.getVolume(id)?.phase === 'ready' || deps.catalog.volumes.quarantined.has(id);
  const page = deps.catalog.idsInOrder.page(decodeToken(startingToken), maxEntries, listed);
  const reports = await Promise.all(page.keys.map((id) => reportFor(deps, id)));
  return {
    reports: reports.filter((r): r is VolumeHealthReport => r !== null),
    nextToken: page.more ? encodeToken(page.keys[page.keys.length - 1]!) : '',
  };
}

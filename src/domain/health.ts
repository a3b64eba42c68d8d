/** The v1.12 VolumeCondition shape (src/volumes/backend.ts declares the same). */
interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

/** CSI v1.13 VolumeHealthErrorType (csi.proto): how bad one finding is. */
export type HealthStatus = 'DEGRADED' | 'INACCESSIBLE' | 'DATA_LOSS';

/** One finding of a health check; `reason` is a stable CamelCase word (metrics label, Events), `message` for humans. */
export interface HealthFinding {
  status: HealthStatus;
  reason: string;
  message: string;
}

export interface VolumeHealthReport {
  volumeId: string;
  findings: HealthFinding[];
}

export const finding = (status: HealthStatus, reason: string, message: string): HealthFinding => ({ status, reason, message });

/**
 * The v1.12 VolumeCondition the same findings give (ListVolumes, ControllerGetVolume and NodeGetVolumeStats still
 * carry it for v1.12 sidecars and kubelets): abnormal when anything was found, the messages joined.
 */
export function toCondition(findings: readonly HealthFinding[], healthyMessage: string): VolumeCondition {
  if (findings.length === 0) return { abnormal: false, message: healthyMessage };
  return { abnormal: true, message: findings.map((f) => f.message).join('; ') };
}

/** CSI VolumeHealth message; no health_statuses means healthy (CSI v1.13, VolumeHealth). */
export function toCsiVolumeHealth(report: VolumeHealthReport): { volume_id: string; health_statuses: HealthFinding[] } {
  return { volume_id: report.volumeId, health_statuses: report.findings.map((f) => ({ ...f })) };
}

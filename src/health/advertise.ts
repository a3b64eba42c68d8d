import type { CsiHealthApi } from '../config';

/**
 * The health capabilities to advertise. v1.12 clients (external-health-monitor, kubelet, csi-sanity v5.5.0) fail on
 * the v1.13 values (16, 17; node 7, 8; plugin SNAPSHOT_ACCESSIBILITY_CONSTRAINTS) as unknown, and v1.13 clients
 * (csi-sanity v5.6.0) fail on VOLUME_CONDITION, which v1.13 reserved — so one set per CO generation, chosen by
 * --csi-health-api. Either way every RPC is served and `volume_condition` is filled (proto/csi.proto header).
 */
export function controllerHealthCapabilities(api: CsiHealthApi): Array<'VOLUME_CONDITION' | 'GET_VOLUME_HEALTH' | 'LIST_VOLUME_HEALTH'> {
  return api === '1.12' ? ['VOLUME_CONDITION'] : ['GET_VOLUME_HEALTH', 'LIST_VOLUME_HEALTH'];
}

export function nodeHealthCapabilities(api: CsiHealthApi): Array<'VOLUME_CONDITION' | 'GET_VOLUME_HEALTH' | 'GET_STORAGE_HEALTH'> {
  return api === '1.12' ? ['VOLUME_CONDITION'] : ['GET_VOLUME_HEALTH', 'GET_STORAGE_HEALTH'];
}

export function pluginHealthCapabilities(api: CsiHealthApi): Array<'SNAPSHOT_ACCESSIBILITY_CONSTRAINTS'> {
  return api === '1.12' ? [] : ['SNAPSHOT_ACCESSIBILITY_CONSTRAINTS'];
}

import type { Config } from '../config';
import type { GetPluginCapabilitiesResponse } from '../generated/csi/v1/GetPluginCapabilitiesResponse';
import type { GetPluginInfoResponse } from '../generated/csi/v1/GetPluginInfoResponse';
import type { IdentityHandlers } from '../generated/csi/v1/Identity';
import type { ProbeResponse } from '../generated/csi/v1/ProbeResponse';
import { pluginHealthCapabilities } from '../health/advertise';
import { unary, type AdapterContext } from '../grpc/unary';

/**
 * Plugin capabilities describe the whole plugin, not one process: a node-only process still advertises the
 * controller service (csi-sanity and Kubernetes read them from whichever socket they hold).
 */
export function pluginCapabilities(config: Pick<Config, 'csiHealthApi' | 'snapshotMetadata'>): GetPluginCapabilitiesResponse {
  return {
    capabilities: [
      { service: { type: 'CONTROLLER_SERVICE' } },
      { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
      { service: { type: 'GROUP_CONTROLLER_SERVICE' } },
      ...pluginHealthCapabilities(config.csiHealthApi).map((type) => ({ service: { type } })),
      // Read by the csi-snapshot-metadata sidecar at start-up: it refuses a driver that does not advertise it.
      ...(config.snapshotMetadata !== 'off' ? [{ service: { type: 'SNAPSHOT_METADATA_SERVICE' as const } }] : []),
      { volume_expansion: { type: 'ONLINE' } },
    ],
  };
}

export function identityHandlers(ctx: AdapterContext, config: Config): IdentityHandlers {
  const always = { servesBeforeReady: true };
  return {
    GetPluginInfo: unary(ctx, 'GetPluginInfo', async (): Promise<GetPluginInfoResponse> => ({
      name: config.driverName,
      vendor_version: config.version,
      manifest: { mode: config.mode },
    }), always),
    GetPluginCapabilities: unary(ctx, 'GetPluginCapabilities', async () => pluginCapabilities(config), always),
    // CSI spec, Probe: ready=false until start-up reconciliation has finished.
    Probe: unary(ctx, 'Probe', async (): Promise<ProbeResponse> => ({ ready: { value: ctx.gate.ready && !ctx.gate.draining } }), {
      ...always,
      quiet: true,
    }),
  };
}

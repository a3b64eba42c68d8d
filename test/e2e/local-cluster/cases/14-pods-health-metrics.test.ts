import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cluster, kubeletGet } from '../lib/cluster';
import { nodeExists, nodeRemove } from '../lib/node-files';
import { overlayForSuite } from '../lib/suite';
import { scrape, sample } from '../lib/scrape';
import { inNamespace, pvc } from '../lib/workloads';

// The driver's and a sidecar's metrics endpoints as Prometheus scrapes them. pods/bridge runs the pod on the host's
// network (no pod network here), so the ports the overlay declares (docs/observability.md) are on loopback.
const DRIVER_METRICS = 'http://127.0.0.1:9810/metrics';
const PROVISIONER_METRICS = 'http://127.0.0.1:9811/metrics';

const calls = (text: string, method: string, code = 'OK') => sample(text, 'hostpath_csi_rpc_duration_seconds_count', { method, code });
const readyDirs = (text: string) => sample(text, 'hostpath_csi_volumes', { kind: 'dir', state: 'ready' });
/** csi-lib-utils' per-call histogram, which every sidecar built on it exports. */
const sidecarCalls = (text: string, method: string) =>
  sample(text, 'csi_sidecar_operations_seconds_count', { method_name: `/csi.v1.Controller/${method}`, grpc_status_code: 'OK' });

describe('the driver as a pod: metrics it exports and volume health kubelet reports (single-node overlay)', () => {
  overlayForSuite('single-node');

  it('the driver and csi-provisioner endpoints count CreateVolume and DeleteVolume by code, and volumes by kind', () =>
    inNamespace('pods-metrics', 200_000, async (ns) => {
      const [driver0, prov0] = await Promise.all([scrape(DRIVER_METRICS), scrape(PROVISIONER_METRICS)]);
      expect(sample(driver0, 'hostpath_csi_build_info')).toBe(1);
      await ns.create(pvc('data'));
      const pv = await ns.waitBound('data');
      const [driver1, prov1] = await Promise.all([scrape(DRIVER_METRICS), scrape(PROVISIONER_METRICS)]);
      // The driver counts each call the sidecar made, by method and code (csi-provisioner may retry: compare, not 1).
      const created = calls(driver1, 'CreateVolume') - calls(driver0, 'CreateVolume');
      expect(created).toBeGreaterThanOrEqual(1);
      expect(sidecarCalls(prov1, 'CreateVolume') - sidecarCalls(prov0, 'CreateVolume')).toBe(created);
      expect(readyDirs(driver1) - readyDirs(driver0)).toBe(1);

      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
      const [driver2, prov2] = await Promise.all([scrape(DRIVER_METRICS), scrape(PROVISIONER_METRICS)]);
      // csi-provisioner calls DeleteVolume again while the PV object lingers (idempotent: OK each time).
      const deleted = calls(driver2, 'DeleteVolume') - calls(driver1, 'DeleteVolume');
      expect(deleted).toBeGreaterThanOrEqual(1);
      expect(sidecarCalls(prov2, 'DeleteVolume') - sidecarCalls(prov1, 'DeleteVolume')).toBe(deleted);
      expect(readyDirs(driver2)).toBe(readyDirs(driver0));
    }));

  it("a dir volume's directory removed under a running pod: kubelet (CSIVolumeHealth) records VolumeConditionAbnormal on the pod and its metric is 1; the pod and PVC still go", () =>
    inNamespace('pods-volume-health', 240_000, async (ns) => {
      await ns.create(pvc('data'));
      await ns.startPod('user', { claim: 'data' });
      const pv = await ns.waitBound('data');
      const series = { namespace: ns.name, persistentvolumeclaim: 'data' };
      const abnormal = async () => sample(await kubeletGet('/metrics'), 'kubelet_volume_stats_health_status_abnormal', series);
      // Healthy first: kubelet exports the gauge at 0 once its stats loop (volumeStatsAggPeriod 5s) has run.
      await ns.waitFor('kubelet to report the volume healthy', async () => (await kubeletGet('/metrics')).includes('kubelet_volume_stats_health_status_abnormal{') && (await abnormal()) === 0);

      const dataDir = path.join(cluster.stateDir, 'volumes', pv.spec.csi.volumeHandle);
      await nodeRemove(dataDir);
      const event = await ns.waitForEvent('VolumeConditionAbnormal', { kind: 'Pod', name: 'user' }, 90_000);
      expect(event.type).toBe('Warning');
      // The path is the driver's own (its state directory as mounted in its container), not this host's.
      expect(event.message).toMatch(new RegExp(`^Volume vol: volume directory /\\S+/volumes/${pv.spec.csi.volumeHandle} is missing from the state directory$`));
      await ns.waitFor('kubelet_volume_stats_health_status_abnormal to be 1', async () => (await abnormal()) === 1, 60_000);

      // The mounts over the removed directory are still the volume's: unpublish, unstage and delete go through.
      await ns.deletePod('user');
      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
      expect(await nodeExists(dataDir)).toBe(false);
    }));
});

import type { CheckReport } from './invariants';
import { send, type CsiClients } from './rpc';
import type { World } from './world';

/** The driver's own answers agree with the model: ListVolumes, ListSnapshots, ControllerGetVolume. */
export async function checkApi(r: CheckReport, world: World, clients: CsiClients, nodeId: string): Promise<void> {
  const vols = await send(clients, 'controller', 'ListVolumes', {});
  r.expect(vols.ok, () => `ListVolumes failed: ${JSON.stringify(vols)}`);
  if (vols.ok) {
    const entries = vols.res['entries'] as Array<{ volume: { volume_id: string; capacity_bytes: string } }>;
    r.expectSameSet('ListVolumes', entries.map((e) => e.volume.volume_id), world.volumes.keys());
    for (const e of entries) {
      const v = world.volumes.get(e.volume.volume_id);
      if (v) r.expect(e.volume.capacity_bytes === String(v.capacity), () => `ListVolumes: ${v.id} capacity ${e.volume.capacity_bytes}, acknowledged ${v.capacity}`);
    }
  }
  const snaps = await send(clients, 'controller', 'ListSnapshots', {});
  r.expect(snaps.ok, () => `ListSnapshots failed: ${JSON.stringify(snaps)}`);
  if (snaps.ok) {
    const entries = snaps.res['entries'] as Array<{ snapshot: { snapshot_id: string } }>;
    r.expectSameSet('ListSnapshots', entries.map((e) => e.snapshot.snapshot_id), world.snapshots.keys());
  }
  for (const vol of world.volumes.values()) {
    const got = await send(clients, 'controller', 'ControllerGetVolume', { volume_id: vol.id });
    if (!got.ok) {
      r.expect(false, () => `ControllerGetVolume ${vol.id}: ${JSON.stringify(got)}`);
      continue;
    }
    const st = got.res['status'] as { published_node_ids: string[]; volume_condition: { abnormal: boolean; message: string } };
    r.expect(!st.volume_condition.abnormal, () => `ControllerGetVolume ${vol.id}: abnormal: ${st.volume_condition.message}`);
    r.expect(JSON.stringify(st.published_node_ids) === JSON.stringify(vol.attached ? [nodeId] : []), () => `ControllerGetVolume ${vol.id}: published to ${JSON.stringify(st.published_node_ids)}`);
  }
}

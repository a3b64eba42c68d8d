import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MOUNT_CAP } from '../../../bench/csi-ops';
import type { RunningDriver } from '../../../bench/drivers';
import { Recorder } from '../../../bench/recorder';
import { call } from '../../../support/csi-client';

/**
 * The recorded run's load: what external-provisioner, -attacher, -snapshotter and kubelet send for pods coming and
 * going. A population of published volumes (three of four `dir`, one of four `image`, which is a loop-mounted ext4)
 * rises and falls in a wave; each step also asks GetCapacity and NodeGetVolumeStats like the sidecars and kubelet do,
 * takes a snapshot now and then, and makes two calls that must fail (a CreateVolume retry with another size:
 * ALREADY_EXISTS; stats of a volume that does not exist: NOT_FOUND), so the failed-calls panel shows real codes.
 * Half way through one volume's directory is removed behind the driver's back: an abnormal volume. Before the driver
 * starts, one unreadable volume record is left in the state directory (`seedQuarantine`), as a torn write would.
 */

export const NODE_ID = 'dashboard-node';
const MiB = 1024 * 1024;

interface Live {
  id: string;
  name: string;
  staging: string;
  target: string;
  bytes: number;
}

export interface LoadState {
  rec: Recorder;
  live: Live[];
  snapshots: string[];
  abnormal: string | null;
  /** Calls that failed with the code the load meant them to fail with. */
  expectedFailures: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The population the wave asks for at `t` (0..1 of the run): between 2 and 14 volumes, two and a half periods. */
export function populationAt(t: number): number {
  return Math.round(8 + 6 * Math.sin(2 * Math.PI * 2.5 * t - Math.PI / 2));
}

async function bringUp(d: RunningDriver, s: LoadState, workDir: string, n: number): Promise<void> {
  const c = d.clients.controller;
  const node = d.clients.node;
  const image = n % 4 === 3;
  const name = `pvc-${n}`;
  const bytes = image ? 64 * MiB : 256 * MiB;
  const created = await s.rec.rpc('CreateVolume', () =>
    call(c.CreateVolume.bind(c), { name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [MOUNT_CAP], parameters: image ? { sizeLimit: 'image' } : {} }),
  );
  const id = created?.volume?.volume_id;
  if (!id) return;
  const staging = path.join(workDir, 'kubelet', 'staging', name);
  const target = path.join(workDir, 'kubelet', 'pods', name, 'mount');
  await mkdir(staging, { recursive: true });
  await mkdir(path.dirname(target), { recursive: true });
  const v: Live = { id, name, staging, target, bytes };
  s.live.push(v);
  await s.rec.rpc('ControllerPublishVolume', () => call(c.ControllerPublishVolume.bind(c), { volume_id: id, node_id: NODE_ID, volume_capability: MOUNT_CAP, readonly: false }));
  await s.rec.rpc('NodeStageVolume', () => call(node.NodeStageVolume.bind(node), { volume_id: id, staging_target_path: staging, volume_capability: MOUNT_CAP }));
  const published = await s.rec.rpc('NodePublishVolume', () =>
    call(node.NodePublishVolume.bind(node), { volume_id: id, staging_target_path: staging, target_path: target, volume_capability: MOUNT_CAP, readonly: false }),
  );
  // The pod writes something, so the image kind's used bytes move (a dir volume's are not exported: see the docs).
  if (published) await writeFile(path.join(target, 'data'), Buffer.alloc(((n % 8) + 1) * MiB, n % 251));
}

async function tearDown(d: RunningDriver, s: LoadState, v: Live): Promise<void> {
  const c = d.clients.controller;
  const node = d.clients.node;
  s.live.splice(s.live.indexOf(v), 1);
  await s.rec.rpc('NodeUnpublishVolume', () => call(node.NodeUnpublishVolume.bind(node), { volume_id: v.id, target_path: v.target }));
  await s.rec.rpc('NodeUnstageVolume', () => call(node.NodeUnstageVolume.bind(node), { volume_id: v.id, staging_target_path: v.staging }));
  await s.rec.rpc('ControllerUnpublishVolume', () => call(c.ControllerUnpublishVolume.bind(c), { volume_id: v.id, node_id: NODE_ID }));
  await s.rec.rpc('DeleteVolume', () => call(c.DeleteVolume.bind(c), { volume_id: v.id }));
}

/** A call the load makes to fail: counted when it fails with `code`, recorded as a failure otherwise. */
async function mustFail(s: LoadState, method: string, code: status, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
    s.rec.fail(method, `succeeded; expected ${status[code]}`);
  } catch (err) {
    if ((err as ServiceError).code === code) s.expectedFailures++;
    else s.rec.fail(method, `failed with ${(err as Error).message}; expected ${status[code]}`);
  }
}

async function snapshotStep(d: RunningDriver, s: LoadState, n: number): Promise<void> {
  const c = d.clients.controller;
  const source = s.live[n % s.live.length];
  if (source) {
    const snap = await s.rec.rpc('CreateSnapshot', () => call(c.CreateSnapshot.bind(c), { name: `snap-${n}`, source_volume_id: source.id, parameters: {} }));
    if (snap?.snapshot) s.snapshots.push(snap.snapshot.snapshot_id);
  }
  if (s.snapshots.length > 3) {
    const id = s.snapshots.shift()!;
    await s.rec.rpc('DeleteSnapshot', () => call(c.DeleteSnapshot.bind(c), { snapshot_id: id }));
  }
}

/** What the sidecars and kubelet ask all the time, and the two calls meant to fail. */
async function routineCalls(d: RunningDriver, s: LoadState, n: number): Promise<void> {
  const c = d.clients.controller;
  const node = d.clients.node;
  await s.rec.rpc('GetCapacity', () => call(c.GetCapacity.bind(c), { volume_capabilities: [MOUNT_CAP], parameters: {} }));
  const v = s.live[n % Math.max(1, s.live.length)];
  if (v) await s.rec.rpc('NodeGetVolumeStats', () => call(node.NodeGetVolumeStats.bind(node), { volume_id: v.id, volume_path: v.target }));
  if (v && n % 5 === 0) {
    const req = { name: v.name, capacity_range: { required_bytes: String(v.bytes * 2) }, volume_capabilities: [MOUNT_CAP], parameters: {} };
    await mustFail(s, 'CreateVolume', status.ALREADY_EXISTS, () => call(c.CreateVolume.bind(c), req));
  }
  if (v && n % 7 === 0) {
    const req = { volume_id: 'no-such-volume', volume_path: path.join(path.dirname(v.target), 'elsewhere') };
    await mustFail(s, 'NodeGetVolumeStats', status.NOT_FOUND, () => call(node.NodeGetVolumeStats.bind(node), req));
  }
}

/** Makes a dir volume and removes its directory, as an operator's mistake or a disk problem would. */
async function makeAbnormal(d: RunningDriver, s: LoadState, stateDir: string): Promise<void> {
  const c = d.clients.controller;
  const res = await s.rec.rpc('CreateVolume', () => call(c.CreateVolume.bind(c), { name: 'broken', capacity_range: { required_bytes: String(MiB) }, volume_capabilities: [MOUNT_CAP], parameters: {} }));
  const id = res?.volume?.volume_id;
  if (!id) return;
  s.abnormal = id;
  await rm(path.join(stateDir, 'volumes', id), { recursive: true, force: true });
}

/** A volume record cut short mid-write: the driver quarantines it at start-up (the quarantined-records panel). */
export async function seedQuarantine(stateDir: string): Promise<void> {
  const dir = path.join(stateDir, 'records', 'volumes');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '0b0e6c1e-0000-4000-8000-00000000dead.json'), '{"id":"0b0e6c1e-0000-4000-8000-00000000dead","na');
}

/** Runs the load for `durationMs`, one step every `stepMs`; leaves the last population in place (see `cleanUp`). */
export async function runLoad(d: RunningDriver, workDir: string, stateDir: string, durationMs: number, stepMs: number): Promise<LoadState> {
  const s: LoadState = { rec: new Recorder(), live: [], snapshots: [], abnormal: null, expectedFailures: 0 };
  const started = Date.now();
  for (let n = 0; Date.now() - started < durationMs; n++) {
    const t = (Date.now() - started) / durationMs;
    const want = populationAt(t);
    if (s.live.length < want) await bringUp(d, s, workDir, n);
    else if (s.live.length > want) await tearDown(d, s, s.live[0]!);
    await routineCalls(d, s, n);
    if (n % 6 === 5) await snapshotStep(d, s, n);
    if (s.abnormal === null && t >= 0.5) await makeAbnormal(d, s, stateDir);
    await sleep(stepMs);
  }
  return s;
}

/** Unpublishes and deletes everything the load made, so the driver stops with nothing staged or attached. */
export async function cleanUp(d: RunningDriver, s: LoadState): Promise<void> {
  const c = d.clients.controller;
  while (s.live.length > 0) await tearDown(d, s, s.live[0]!);
  for (const id of s.snapshots.splice(0)) await s.rec.rpc('DeleteSnapshot', () => call(c.DeleteSnapshot.bind(c), { snapshot_id: id }));
  if (s.abnormal !== null) await s.rec.rpc('DeleteVolume', () => call(c.DeleteVolume.bind(c), { volume_id: s.abnormal! }));
}

import { status } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DataScratch, sha256File } from '../helpers/data';
import { exists, isRoot, mountPointsUnder, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { budget } from './budget';
import { loopsUnder } from './host';
import { capabilityOf, MiB, VOLUME_KINDS, type VolumeKindSpec } from './kinds';
import { send, type Answer } from './rpc';
import { writeSummary } from './summary';

/**
 * The state directory under faults of the filesystem itself (issue 13): a FULL state filesystem (every RPC that
 * needs space answers RESOURCE_EXHAUSTED and leaves nothing behind, every RPC that frees space succeeds, nothing
 * acknowledged is lost, and everything works again without a restart once space returns), and NON-REGULAR ENTRIES
 * (directory, FIFO, socket, symlink, device node) planted where records, temp files and journal segments belong,
 * in every state folder, before a restart (start-up succeeds and serves the healthy volumes).
 */
const run = promisify(execFile);
const scratch = new DataScratch();
const NODE = 'state-faults-node';
const b = budget();
const ROUNDS = Number(process.env['FAULTS_STATE_ROUNDS'] ?? (b.soak ? 10 : 2));
const RESTARTS = b.soak ? 10 : 3;

const full = { rounds: 0, callsOnFullDisk: 0, resourceExhausted: 0, wrongCodes: [] as string[], leftovers: 0, freeingCalls: 0, freeingFailures: [] as string[], recoveryCalls: 0, recoveryFailures: [] as string[], dataChecked: 0, dataLost: 0 };
const strays = { restarts: 0, entriesPlanted: 0, entriesSetAside: 0, logLines: 0, startupFailures: 0, healthyVolumesServed: 0, dataChecked: 0, dataLost: 0 };

afterAll(async () => {
  await writeSummary('state', { seed: b.seed, fullDisk: full, strays });
  const { leftMounts, leftLoops } = await scratch.disposeAll();
  expect(leftLoops).toEqual([]);
  // The test's own tmpfs is the one mount dispose finds (and removes).
  expect(leftMounts.filter((m) => !m.endsWith('/state'))).toEqual([]);
});

async function ok(driver: DriverProcess, service: 'controller' | 'node', rpc: string, req: unknown): Promise<Record<string, unknown>> {
  const a = await send(driver.clients, service, rpc, req);
  if (!a.ok) throw new Error(`${rpc}: ${a.code} ${a.details}`);
  return a.res;
}

const volumeIdOf = (res: Record<string, unknown>): string => (res['volume'] as { volume_id: string }).volume_id;
const snapshotIdOf = (res: Record<string, unknown>): string => (res['snapshot'] as { snapshot_id: string }).snapshot_id;

/** Writes until ENOSPC: big chunks, then small ones, so not one page is left. */
async function fill(file: string): Promise<void> {
  const h = await open(file, 'a');
  try {
    for (const size of [4 * MiB, 64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x5a);
      while (await h.write(chunk).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'ENOSPC' ? false : Promise.reject(err))));
    }
  } finally {
    await h.close().catch(() => undefined);
  }
}

interface Live {
  kind: VolumeKindSpec;
  id: string;
  spare: string;
  snap: string;
  staging: string;
  target: string;
  /** The acknowledged data: a file in a published filesystem, or bytes at an offset of a published block device. */
  dataPath: string;
  sum: string;
}

function paths(root: string, id: string, kind: VolumeKindSpec, suffix = ''): { staging: string; target: string } {
  return { staging: path.join(root, 'kubelet', 'staging', id), target: path.join(root, 'kubelet', 'pods', `${id}${suffix}`, kind.accessType === 'block' ? 'dev' : 'mount') };
}

async function stagePublish(driver: DriverProcess, root: string, kind: VolumeKindSpec, id: string): Promise<{ staging: string; target: string }> {
  const p = paths(root, id, kind);
  const cap = capabilityOf(kind);
  await ok(driver, 'node', 'NodeStageVolume', { volume_id: id, staging_target_path: p.staging, volume_capability: cap });
  await ok(driver, 'node', 'NodePublishVolume', { volume_id: id, staging_target_path: p.staging, target_path: p.target, volume_capability: cap, readonly: false });
  return p;
}

/** Acknowledged data: fsynced through the published target (a file, or the first MiB of a block device). */
async function writeData(kind: VolumeKindSpec, target: string): Promise<string> {
  const data = Buffer.alloc(MiB, kind.name.length + 3);
  const file = kind.accessType === 'block' ? target : path.join(target, 'acknowledged.bin');
  const h = await open(file, kind.accessType === 'block' ? 'r+' : 'w');
  try {
    await h.write(data, 0, data.length, 0);
    await h.sync();
  } finally {
    await h.close();
  }
  return file;
}

async function sumOf(kind: VolumeKindSpec, file: string): Promise<string> {
  if (kind.accessType !== 'block') return sha256File(file);
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MiB);
    await h.read(buf, 0, MiB, 0);
    return (await import('node:crypto')).createHash('sha256').update(buf).digest('hex');
  } finally {
    await h.close();
  }
}

async function footprint(stateDir: string, root: string): Promise<string> {
  const ls = (d: string) => readdir(path.join(stateDir, d)).then((x) => x.sort().join(','), () => '-');
  const dirs = ['volumes', 'snapshots', 'records/volumes', 'records/snapshots', 'records/attachments', 'records/node'];
  const parts = await Promise.all(dirs.map(ls));
  parts.push((await loopsUnder(root)).map((l) => l.file).sort().join(','));
  parts.push((await mountPointsUnder(root)).sort().join(','));
  return parts.join('\n');
}

describe.skipIf(!isRoot)(`state directory on a full filesystem, every RPC of every kind${NEEDS_ROOT}`, () => {
  it(`${ROUNDS} rounds: fill, every RPC, free, recover`, async () => {
    const root = await scratch.dir();
    const stateDir = path.join(root, 'state');
    await mkdir(stateDir);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256m,mode=0700', 'tmpfs', stateDir]);
    const driver = await scratch.start({ root, stateDir, nodeId: NODE, allowedPathRoot: path.join(root, 'kubelet'), extraArgs: ['--mutable-parameters=iops'] });
    const lives: Live[] = [];
    for (const kind of VOLUME_KINDS) {
      const create = async (name: string) => volumeIdOf(await ok(driver, 'controller', 'CreateVolume', { name, capacity_range: { required_bytes: String(kind.initialBytes) }, volume_capabilities: [capabilityOf(kind)], parameters: kind.parameters }));
      const id = await create(`live-${kind.name}`);
      const spare = await create(`spare-${kind.name}`);
      const p = await stagePublish(driver, root, kind, id);
      const dataPath = await writeData(kind, p.target);
      const snap = snapshotIdOf(await ok(driver, 'controller', 'CreateSnapshot', { name: `snap-${kind.name}`, source_volume_id: id }));
      lives.push({ kind, id, spare, snap, ...p, dataPath, sum: await sumOf(kind, dataPath) });
    }
    for (let round = 0; round < ROUNDS; round++) {
      await fullDiskRound(driver, root, stateDir, lives, round);
      full.rounds++;
    }
    for (const l of lives) {
      await ok(driver, 'node', 'NodeUnpublishVolume', { volume_id: l.id, target_path: l.target });
      await ok(driver, 'node', 'NodeUnstageVolume', { volume_id: l.id, staging_target_path: l.staging });
    }
    expect((await driver.stop()).code).toBe(0);
    expect(await loopsUnder(root)).toEqual([]);
    expect(full.wrongCodes).toEqual([]);
    expect(full.freeingFailures).toEqual([]);
    expect(full.recoveryFailures).toEqual([]);
    expect(full.leftovers).toBe(0);
    expect(full.dataLost).toBe(0);
  });
});

/** The doomed objects of a round: made before the disk fills, taken down while it is full. */
async function makeDoomed(driver: DriverProcess, root: string, lives: Live[], round: number): Promise<Array<{ kind: VolumeKindSpec; id: string; snap: string; staging: string; target: string }>> {
  const doomed = [];
  for (const l of lives) {
    const res = await ok(driver, 'controller', 'CreateVolume', { name: `doomed-${l.kind.name}-${round}`, capacity_range: { required_bytes: String(l.kind.initialBytes) }, volume_capabilities: [capabilityOf(l.kind)], parameters: l.kind.parameters });
    const id = volumeIdOf(res);
    await ok(driver, 'controller', 'ControllerPublishVolume', { volume_id: id, node_id: NODE, volume_capability: capabilityOf(l.kind), readonly: false });
    const p = await stagePublish(driver, root, l.kind, id);
    const snap = snapshotIdOf(await ok(driver, 'controller', 'CreateSnapshot', { name: `doomed-snap-${l.kind.name}-${round}`, source_volume_id: l.id }));
    doomed.push({ kind: l.kind, id, snap, ...p });
  }
  return doomed;
}

/** Every call that needs room on the state filesystem, for one live volume of each kind. */
function needsSpace(root: string, l: Live, round: number): Record<string, unknown[]> {
  const cap = capabilityOf(l.kind);
  const grown = String(l.kind.initialBytes + (round + 1) * l.kind.expandStepBytes);
  const second = paths(root, l.id, l.kind, '-second');
  const spare = paths(root, l.spare, l.kind);
  const create = (name: string, source: unknown) => ({ name: `${name}-${l.kind.name}-${round}`, capacity_range: { required_bytes: String(l.kind.initialBytes) }, volume_capabilities: [cap], parameters: l.kind.parameters, volume_content_source: source });
  return {
    'CreateVolume new': ['controller', 'CreateVolume', create('full-new', null)],
    'CreateVolume clone': ['controller', 'CreateVolume', create('full-clone', { volume: { volume_id: l.id } })],
    'CreateVolume restore': ['controller', 'CreateVolume', create('full-restore', { snapshot: { snapshot_id: l.snap } })],
    CreateSnapshot: ['controller', 'CreateSnapshot', { name: `full-snap-${l.kind.name}-${round}`, source_volume_id: l.id }],
    ControllerExpandVolume: ['controller', 'ControllerExpandVolume', { volume_id: l.spare, capacity_range: { required_bytes: grown } }],
    ControllerModifyVolume: ['controller', 'ControllerModifyVolume', { volume_id: l.id, mutable_parameters: { iops: `${round}` } }],
    ControllerPublishVolume: ['controller', 'ControllerPublishVolume', { volume_id: l.spare, node_id: NODE, volume_capability: cap, readonly: false }],
    NodeStageVolume: ['node', 'NodeStageVolume', { volume_id: l.spare, staging_target_path: spare.staging, volume_capability: cap }],
    NodePublishVolume: ['node', 'NodePublishVolume', { volume_id: l.id, staging_target_path: l.staging, target_path: second.target, volume_capability: cap, readonly: false }],
  };
}

async function fullDiskRound(driver: DriverProcess, root: string, stateDir: string, lives: Live[], round: number): Promise<void> {
  const doomed = await makeDoomed(driver, root, lives, round);
  const filler = path.join(stateDir, 'filler');
  await fill(filler);
  const before = await footprint(stateDir, root);
  for (const l of lives) {
    for (const [what, [service, rpc, req]] of Object.entries(needsSpace(root, l, round))) {
      const a: Answer = await send(driver.clients, service as 'controller' | 'node', rpc as string, req);
      full.callsOnFullDisk++;
      if (!a.ok && a.code === status.RESOURCE_EXHAUSTED && a.details.includes(stateDir)) full.resourceExhausted++;
      else full.wrongCodes.push(`round ${round} ${l.kind.name} ${what}: ${a.ok ? 'OK' : `${a.code} ${a.details}`}`);
    }
  }
  if ((await footprint(stateDir, root)) !== before) full.leftovers++;
  for (const d of doomed) {
    const calls: Array<[string, 'controller' | 'node', string, unknown]> = [
      ['NodeUnpublishVolume', 'node', 'NodeUnpublishVolume', { volume_id: d.id, target_path: d.target }],
      ['NodeUnstageVolume', 'node', 'NodeUnstageVolume', { volume_id: d.id, staging_target_path: d.staging }],
      ['ControllerUnpublishVolume', 'controller', 'ControllerUnpublishVolume', { volume_id: d.id, node_id: NODE }],
      ['DeleteVolume', 'controller', 'DeleteVolume', { volume_id: d.id }],
      ['DeleteSnapshot', 'controller', 'DeleteSnapshot', { snapshot_id: d.snap }],
    ];
    for (const [what, service, rpc, req] of calls) {
      const a = await send(driver.clients, service, rpc, req);
      full.freeingCalls++;
      if (!a.ok) full.freeingFailures.push(`round ${round} ${d.kind.name} ${what}: ${a.code} ${a.details}`);
    }
  }
  for (const l of lives) {
    full.dataChecked++;
    if ((await sumOf(l.kind, l.dataPath)) !== l.sum) full.dataLost++;
  }
  await rm(filler);
  await recover(driver, root, lives, round);
}

/** Space is back: the same calls succeed at once, without a restart (and what they made is taken down again). */
async function recover(driver: DriverProcess, root: string, lives: Live[], round: number): Promise<void> {
  for (const l of lives) {
    const attempt = async (what: string, service: 'controller' | 'node', rpc: string, req: unknown): Promise<Record<string, unknown> | null> => {
      const a = await send(driver.clients, service, rpc, req);
      full.recoveryCalls++;
      if (a.ok) return a.res;
      full.recoveryFailures.push(`round ${round} ${l.kind.name} ${what}: ${a.code} ${a.details}`);
      return null;
    };
    const calls = needsSpace(root, l, round);
    const made: string[] = [];
    for (const what of ['CreateVolume new', 'CreateVolume clone', 'CreateVolume restore']) {
      const [service, rpc, req] = calls[what]!;
      const res = await attempt(what, service as 'controller', rpc as string, req);
      if (res) made.push(volumeIdOf(res));
    }
    const snap = await attempt('CreateSnapshot', 'controller', 'CreateSnapshot', calls['CreateSnapshot']![2]);
    await attempt('ControllerExpandVolume', 'controller', 'ControllerExpandVolume', calls['ControllerExpandVolume']![2]);
    await attempt('ControllerModifyVolume', 'controller', 'ControllerModifyVolume', calls['ControllerModifyVolume']![2]);
    const spare = paths(root, l.spare, l.kind);
    if (await attempt('NodeStageVolume', 'node', 'NodeStageVolume', calls['NodeStageVolume']![2])) {
      await attempt('NodeUnstageVolume', 'node', 'NodeUnstageVolume', { volume_id: l.spare, staging_target_path: spare.staging });
    }
    for (const id of made) await attempt('DeleteVolume', 'controller', 'DeleteVolume', { volume_id: id });
    if (snap) await attempt('DeleteSnapshot', 'controller', 'DeleteSnapshot', { snapshot_id: snapshotIdOf(snap) });
  }
}

const RECORD_FOLDERS = ['volumes', 'attachments', 'node', 'snapshots', 'group-snapshots'];
const ENTRY_TYPES = ['directory', 'fifo', 'socket', 'symlink', 'device'] as const;

async function plant(type: (typeof ENTRY_TYPES)[number], p: string): Promise<void> {
  if (type === 'directory') await mkdir(p);
  else if (type === 'fifo') await run('mkfifo', [p]);
  else if (type === 'device') await run('mknod', [p, 'c', '1', '3']);
  else if (type === 'symlink') await symlink('/etc/hostname', p);
  // Node's listener unlinks its socket file on close; python's bind leaves it, as a crashed server would.
  else await run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]);
}

describe.skipIf(!isRoot)(`non-regular entries in every state folder before a restart${NEEDS_ROOT}`, () => {
  it(`${RESTARTS} restarts, each after planting every type where records, temp files and segments belong`, async () => {
    const root = await scratch.dir();
    let driver = await scratch.start({ root, nodeId: NODE, allowedPathRoot: path.join(root, 'kubelet') });
    const stateDir = driver.stateDir;
    const healthy: Array<{ kind: VolumeKindSpec; id: string; file: string; sum: string }> = [];
    for (const kind of VOLUME_KINDS) {
      const id = volumeIdOf(await ok(driver, 'controller', 'CreateVolume', { name: `healthy-${kind.name}`, capacity_range: { required_bytes: String(kind.initialBytes) }, volume_capabilities: [capabilityOf(kind)], parameters: kind.parameters }));
      const where = kind.dataFile(path.join(stateDir, 'volumes', id), kind.accessType === 'block' ? { slot: 0 } : { file: 'precious.bin' });
      if (where) await writeFile(where.file, Buffer.alloc(64 * 1024, 9), { flag: kind.accessType === 'block' ? 'r+' : 'w' });
      healthy.push({ kind, id, file: where?.file ?? '', sum: where ? await sha256File(where.file) : '' });
    }
    for (let restart = 0; restart < RESTARTS; restart++) {
      expect((await driver.stop()).code).toBe(0);
      const planted: string[] = [];
      for (const folder of RECORD_FOLDERS) {
        const records = path.join(stateDir, 'records', folder);
        await mkdir(`${records}.journal`, { recursive: true });
        for (const [i, type] of ENTRY_TYPES.entries()) {
          const names = [path.join(records, `${randomUUID()}.json`), path.join(records, `s${restart}-${i}.json.tmp-1-${i}`), path.join(`${records}.journal`, `${String(100 * restart + i + 2).padStart(12, '0')}.log`)];
          for (const p of names) await plant(type, p);
          planted.push(...names);
        }
      }
      strays.entriesPlanted += planted.length;
      driver = await scratch.start({ root, nodeId: NODE, allowedPathRoot: path.join(root, 'kubelet') }).catch((err: unknown) => {
        strays.startupFailures++;
        throw err;
      });
      strays.restarts++;
      for (const p of planted) if (!(await exists(p))) strays.entriesSetAside++;
      strays.logLines += driver.logLines().filter((l) => planted.includes(String(l['file'])) && String(l['err']).startsWith('not a regular file')).length;
      for (const h of healthy) {
        const got = await ok(driver, 'controller', 'ControllerGetVolume', { volume_id: h.id });
        const abnormal = (got['status'] as { volume_condition: { abnormal: boolean } }).volume_condition.abnormal;
        const p = await stagePublish(driver, root, h.kind, h.id);
        await ok(driver, 'node', 'NodeUnpublishVolume', { volume_id: h.id, target_path: p.target });
        await ok(driver, 'node', 'NodeUnstageVolume', { volume_id: h.id, staging_target_path: p.staging });
        if (!abnormal) strays.healthyVolumesServed++;
        if (h.file !== '') {
          strays.dataChecked++;
          if ((await sha256File(h.file)) !== h.sum) strays.dataLost++;
        }
      }
    }
    expect((await driver.stop()).code).toBe(0);
    expect(strays.startupFailures).toBe(0);
    expect(strays.entriesSetAside).toBe(strays.entriesPlanted);
    expect(strays.logLines).toBe(strays.entriesPlanted);
    expect(strays.healthyVolumesServed).toBe(RESTARTS * healthy.length);
    expect(strays.dataLost).toBe(0);
  });
});

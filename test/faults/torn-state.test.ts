import { status } from '@grpc/grpc-js';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataScratch, sha256File } from '../helpers/data';
import { isRoot, NEEDS_ROOT } from '../helpers/driver-process';
import { capabilityOf, kindByName } from './kinds';
import { connectCsi, send, type CsiClients } from './rpc';
import { writeSummary } from './summary';

/**
 * Torn and corrupt state records: each case starts from the same state dir (a filesystem volume with data, a
 * block volume with data, a snapshot, an attachment, a node record), damages ONE record file in one way, and starts
 * the driver on it. The driver must start, quarantine exactly that file with an error log line naming it, report
 * the object as abnormal or refuse it with FAILED_PRECONDITION, and leave every byte of user data where it was.
 */
const scratch = new DataScratch();
const NODE = 'torn-node';
let base: string;
interface Ids {
  dirVol: string;
  blockVol: string;
  snap: string;
  attachment: string;
}
let ids: Ids;
const sums = new Map<string, string>();
const figures = { cases: 0, quarantined: 0, startedAndReady: 0, abnormalReported: 0, refusedWithFailedPrecondition: 0, dataFilesIntact: 0, dataFilesLost: 0 };

afterAll(async () => {
  await writeSummary('torn', figures);
  const { leftMounts, leftLoops } = await scratch.disposeAll();
  expect(leftMounts).toEqual([]);
  expect(leftLoops).toEqual([]);
});

type Corruption = (file: string, root: string) => Promise<void>;

const CORRUPTIONS: Record<string, Corruption> = {
  'empty file (a write lost before fsync)': (f) => writeFile(f, ''),
  'truncated mid-JSON': async (f) => writeFile(f, (await readFile(f)).subarray(0, 17)),
  'random binary bytes': (f) => writeFile(f, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 151 + 7) % 256))),
  'NUL bytes in place of the tail': async (f) => {
    const b = await readFile(f);
    b.fill(0, Math.floor(b.length / 2));
    await writeFile(f, b);
  },
  'valid JSON of the wrong shape': (f) => writeFile(f, JSON.stringify({ id: path.basename(f, '.json'), phase: 42 })),
  'valid record of another ID': async (f) => writeFile(f, JSON.stringify({ ...JSON.parse(await readFile(f, 'utf8')), id: 'someone-else' })),
  'a field of the wrong type (a size beyond int64, a string for a flag or a map)': async (f) => {
    const o = JSON.parse(await readFile(f, 'utf8')) as Record<string, unknown>;
    const key = ['capacityBytes', 'sizeBytes', 'readonly', 'targets'].find((k) => k in o)!;
    o[key] = key.endsWith('Bytes') ? '99999999999999999999999' : 'yes';
    await writeFile(f, JSON.stringify(o));
  },
  'a directory named like the record': async (f) => {
    await rm(f);
    await mkdir(f);
  },
  'a symlink to a file outside the state dir': async (f, root) => {
    await rm(f);
    await writeFile(path.join(root, 'outside.txt'), 'not a record');
    await symlink(path.join(root, 'outside.txt'), f);
  },
};

async function rpc(clients: CsiClients, service: 'controller' | 'node', name: string, req: unknown): Promise<{ code: number; res: Record<string, unknown> | null }> {
  const a = await send(clients, service, name, req);
  return a.ok ? { code: status.OK, res: a.res } : { code: a.code, res: null };
}

beforeAll(async () => {
  if (!isRoot) return;
  base = await scratch.dir();
  const driver = await scratch.start({ root: base, nodeId: NODE });
  const c = driver.clients;
  const create = async (name: string, kind: string): Promise<string> => {
    const k = kindByName(kind);
    const r = await rpc(c, 'controller', 'CreateVolume', { name, capacity_range: { required_bytes: String(k.initialBytes) }, volume_capabilities: [capabilityOf(k)], parameters: k.parameters });
    return (r.res!['volume'] as { volume_id: string }).volume_id;
  };
  const dirVol = await create('torn-dir', 'dir');
  const blockVol = await create('torn-block', 'block');
  await writeFile(path.join(driver.stateDir, 'volumes', dirVol, 'precious.txt'), 'user data that must survive');
  const img = await readFile(path.join(driver.stateDir, 'volumes', blockVol, 'disk.img'));
  img.write('block data that must survive', 4096);
  await writeFile(path.join(driver.stateDir, 'volumes', blockVol, 'disk.img'), img);
  const snapRes = await rpc(c, 'controller', 'CreateSnapshot', { name: 'torn-snap', source_volume_id: dirVol });
  const snap = (snapRes.res!['snapshot'] as { snapshot_id: string }).snapshot_id;
  await rpc(c, 'controller', 'ControllerPublishVolume', { volume_id: blockVol, node_id: NODE, volume_capability: capabilityOf(kindByName('block')) });
  expect((await driver.stop()).code).toBe(0);
  // A node record as a staged-then-rebooted node leaves it (no mount or loop exists for it now).
  await mkdir(path.join(driver.stateDir, 'records', 'node'), { recursive: true });
  await writeFile(path.join(driver.stateDir, 'records', 'node', `${dirVol}.json`), JSON.stringify({ id: dirVol, stagingPath: null, loopDevice: null, targets: {} }));
  const attachment = (await readdir(path.join(driver.stateDir, 'records', 'attachments')))[0]!.replace(/\.json$/, '');
  ids = { dirVol, blockVol, snap, attachment };
  for (const f of [path.join('volumes', dirVol, 'precious.txt'), path.join('volumes', blockVol, 'disk.img'), path.join('snapshots', snap, 'precious.txt')]) {
    sums.set(f, await sha256File(path.join(driver.stateDir, f)));
  }
});

interface Target {
  store: string;
  recordFile: (ids: Ids) => string;
  /** What the driver must say about the damaged object once it is up. */
  verify: (c: CsiClients, root: string) => Promise<void>;
}

async function expectAbnormal(c: CsiClients, volumeId: string): Promise<void> {
  const got = await rpc(c, 'controller', 'ControllerGetVolume', { volume_id: volumeId });
  expect(got.code).toBe(status.OK);
  const cond = (got.res!['status'] as { volume_condition: { abnormal: boolean; message: string } }).volume_condition;
  expect(cond.abnormal).toBe(true);
  expect(cond.message).toMatch(/unreadable/);
  const listed = await rpc(c, 'controller', 'ListVolumes', {});
  const entry = (listed.res!['entries'] as Array<{ volume: { volume_id: string }; status: { volume_condition: { abnormal: boolean } } }>).find((e) => e.volume.volume_id === volumeId);
  expect(entry?.status.volume_condition.abnormal).toBe(true);
  figures.abnormalReported++;
}

async function expectRefused(c: CsiClients, service: 'controller' | 'node', name: string, req: unknown): Promise<void> {
  expect((await rpc(c, service, name, req)).code, name).toBe(status.FAILED_PRECONDITION);
  figures.refusedWithFailedPrecondition++;
}

const TARGETS: Target[] = [
  {
    store: 'volume record',
    recordFile: (i) => path.join('records', 'volumes', `${i.dirVol}.json`),
    verify: async (c, root) => {
      await expectAbnormal(c, ids.dirVol);
      await expectRefused(c, 'controller', 'DeleteVolume', { volume_id: ids.dirVol });
      const stage = { volume_id: ids.dirVol, staging_target_path: path.join(root, 'staging'), volume_capability: capabilityOf(kindByName('dir')) };
      await expectRefused(c, 'node', 'NodeStageVolume', stage);
      await expectRefused(c, 'controller', 'CreateSnapshot', { name: 'after-torn', source_volume_id: ids.dirVol });
    },
  },
  {
    store: 'attachment record',
    recordFile: (i) => path.join('records', 'attachments', `${i.attachment}.json`),
    verify: async (c) => {
      await expectAbnormal(c, ids.blockVol);
      await expectRefused(c, 'controller', 'DeleteVolume', { volume_id: ids.blockVol });
      // The CO's unpublish settles it; then the volume is normal again and can be deleted.
      expect((await rpc(c, 'controller', 'ControllerUnpublishVolume', { volume_id: ids.blockVol, node_id: NODE })).code).toBe(status.OK);
      const got = await rpc(c, 'controller', 'ControllerGetVolume', { volume_id: ids.blockVol });
      expect((got.res!['status'] as { volume_condition: { abnormal: boolean } }).volume_condition.abnormal).toBe(false);
    },
  },
  {
    store: 'snapshot record',
    recordFile: (i) => path.join('records', 'snapshots', `${i.snap}.json`),
    verify: async (c) => {
      await expectRefused(c, 'controller', 'DeleteSnapshot', { snapshot_id: ids.snap });
      const restore = { name: 'restore-torn', volume_capabilities: [capabilityOf(kindByName('dir'))], volume_content_source: { snapshot: { snapshot_id: ids.snap } } };
      await expectRefused(c, 'controller', 'CreateVolume', restore);
    },
  },
  {
    store: 'node record',
    recordFile: (i) => path.join('records', 'node', `${i.dirVol}.json`),
    verify: async (c) => {
      // Nothing was staged: the node carries on, and the volume is still fine on the controller side.
      const got = await rpc(c, 'controller', 'ControllerGetVolume', { volume_id: ids.dirVol });
      expect((got.res!['status'] as { volume_condition: { abnormal: boolean } }).volume_condition.abnormal).toBe(false);
    },
  },
];

describe.skipIf(!isRoot)(`torn and corrupt state records${NEEDS_ROOT}`, () => {
  for (const target of TARGETS) {
    for (const [how, corrupt] of Object.entries(CORRUPTIONS)) {
      it(`${target.store}: ${how} — starts, quarantines it with an error line, reports it, keeps every byte of data`, async () => {
        figures.cases++;
        const root = await scratch.dir();
        const stateDir = path.join(root, 'state');
        await cp(path.join(base, 'state'), stateDir, { recursive: true });
        const file = path.join(stateDir, target.recordFile(ids));
        await corrupt(file, root);
        const driver = await scratch.start({ root, nodeId: NODE });
        figures.startedAndReady++;
        const clients = connectCsi(driver.socketPath);
        try {
          const quarantined = await readdir(path.join(stateDir, 'quarantine'));
          expect(quarantined).toHaveLength(1);
          figures.quarantined++;
          const lines = driver.logLines().filter((l) => l['file'] === file && l['msg'] === 'state record unreadable: quarantined, data left in place');
          expect(lines).toHaveLength(1);
          expect(lines[0]!['level']).toBe(50);
          await target.verify(clients, root);
          for (const [rel, sum] of sums) {
            const now = await sha256File(path.join(stateDir, rel)).catch(() => null);
            if (now === sum) figures.dataFilesIntact++;
            else figures.dataFilesLost++;
            expect(now, rel).toBe(sum);
          }
        } finally {
          clients.close();
          expect((await driver.stop()).code).toBe(0);
        }
      });
    }
  }
});

import { status } from '@grpc/grpc-js';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataScratch, sha256File } from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { announce, budget } from './budget';
import { mountsUnder } from './host';
import { capabilityOf, VOLUME_KINDS, type VolumeKindSpec } from './kinds';
import { connectCsi, RETRIABLE, send, type Answer, type CsiClients } from './rpc';
import { percentile, writeSummary } from './summary';

/**
 * Concurrency storms on one object at a time, while a prober measures how quickly Probe answers (the event loop
 * must stay responsive; reported, not asserted, since this machine is shared).
 */
const b = budget();
const scratch = new DataScratch();
const NODE_ID = 'storm-node';
let driver: DriverProcess;
let clients: CsiClients;
let root: string;
let stateDir: string;
const probeMs: number[] = [];
const fig = { identicalCreates: 0, createStorms: 0, volumesPerCreateStorm: [] as number[], mixedStorms: 0, mixedOutcomes: {} as Record<string, number>, publishStorms: 0, mountLayersPerPublishStorm: [] as number[], callsInStorms: 0 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends Probe back to back with a 5 ms pause while `work` runs; records each latency. */
async function probing<T>(work: () => Promise<T>): Promise<T> {
  let done = false;
  const prober = (async () => {
    while (!done) {
      const t = process.hrtime.bigint();
      const a = await send(clients, 'identity', 'Probe', {});
      if (a.ok) probeMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      await sleep(5);
    }
  })();
  try {
    return await work();
  } finally {
    done = true;
    await prober;
  }
}

/** Retries like a sidecar until a final answer. */
async function untilFinal(fn: () => Promise<Answer>): Promise<Answer> {
  for (let i = 0; i < 500; i++) {
    const a = await fn();
    fig.callsInStorms++;
    if (a.ok || !RETRIABLE.has(a.code)) return a;
    await sleep(2 + (i % 10));
  }
  throw new Error('no final answer after 500 attempts');
}

const codeName = (a: Answer): string => (a.ok ? 'OK' : status[a.code]!);

async function volumeRecords(): Promise<Array<Record<string, unknown>>> {
  const dir = path.join(stateDir, 'records', 'volumes');
  return Promise.all((await readdir(dir)).map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as Record<string, unknown>));
}

function createRequest(kind: VolumeKindSpec, name: string): Record<string, unknown> {
  return { name, capacity_range: { required_bytes: String(kind.initialBytes) }, volume_capabilities: [capabilityOf(kind)], parameters: kind.parameters };
}

beforeAll(async () => {
  if (!isRoot) return;
  root = await scratch.dir();
  await mkdir(path.join(root, 'kubelet'));
  driver = await scratch.start({ root, nodeId: NODE_ID, allowedPathRoot: path.join(root, 'kubelet'), logLevel: 'info' });
  stateDir = driver.stateDir;
  clients = connectCsi(driver.socketPath);
  announce('storms', b, `repeats=${b.stormRepeats}`);
});

afterAll(async () => {
  if (isRoot) {
    clients.close();
    expect((await driver.stop()).code).toBe(0);
    await writeSummary('storms', { seed: b.seed, ...fig, probe: { calls: probeMs.length, p50: percentile(probeMs, 50), p99: percentile(probeMs, 99), max: Math.max(0, ...probeMs) } });
  }
  const { leftMounts, leftLoops } = await scratch.disposeAll();
  expect(leftMounts).toEqual([]);
  expect(leftLoops).toEqual([]);
});

describe.skipIf(!isRoot)(`concurrency storms${NEEDS_ROOT}`, () => {
  for (const kind of VOLUME_KINDS) {
    it(`64 identical concurrent CreateVolume calls (${kind.name}) make exactly one volume, and every caller gets its ID`, async () => {
      for (let rep = 0; rep < b.stormRepeats; rep++) {
        const name = `storm-create-${kind.name}-${rep}`;
        const answers = await probing(() => Promise.all(Array.from({ length: 64 }, () => untilFinal(() => send(clients, 'controller', 'CreateVolume', createRequest(kind, name))))));
        fig.identicalCreates += 64;
        fig.createStorms++;
        expect(answers.map(codeName)).toEqual(Array(64).fill('OK'));
        const ids = new Set(answers.map((a) => (a.ok ? (a.res['volume'] as { volume_id: string }).volume_id : '')));
        expect(ids.size).toBe(1);
        const records = (await volumeRecords()).filter((r) => r['name'] === name);
        fig.volumesPerCreateStorm.push(records.length);
        expect(records.map((r) => r['id'])).toEqual([...ids]);
        expect((await readdir(path.join(stateDir, 'volumes'))).filter((d) => ids.has(d))).toHaveLength(1);
      }
    });

    it(`concurrent DeleteVolume, ControllerPublishVolume and CreateSnapshot on one ${kind.name} volume end in one consistent state`, async () => {
      for (let rep = 0; rep < b.stormRepeats; rep++) {
        const created = await untilFinal(() => send(clients, 'controller', 'CreateVolume', createRequest(kind, `storm-mixed-${kind.name}-${rep}`)));
        const volumeId = (created.ok ? (created.res['volume'] as { volume_id: string }).volume_id : '')!;
        // The volume's bytes as they lie in the state dir: a file in its directory, or its image (an image holding a
        // filesystem is left as mkfs made it).
        const dataFile = path.join(stateDir, 'volumes', volumeId, kind.storage === 'directory' ? 'data.bin' : 'disk.img');
        if (kind.storage !== 'filesystem-image') await writeFile(dataFile, Buffer.alloc(kind.storage === 'block-image' ? kind.initialBytes : 4096, rep + 1));
        const before = await sha256File(dataFile);
        const snapName = `storm-snap-${kind.name}-${rep}`;
        const calls: Array<[string, () => Promise<Answer>]> = [];
        for (let i = 0; i < 4; i++) {
          calls.push(['delete', () => send(clients, 'controller', 'DeleteVolume', { volume_id: volumeId })]);
          calls.push(['publish', () => send(clients, 'controller', 'ControllerPublishVolume', { volume_id: volumeId, node_id: NODE_ID, volume_capability: capabilityOf(kind), readonly: false })]);
          calls.push(['snapshot', () => send(clients, 'controller', 'CreateSnapshot', { name: snapName, source_volume_id: volumeId })]);
        }
        // Interleave by rotating the start order each repeat; each caller retries ABORTED as a sidecar would.
        const order = calls.map((_, i) => calls[(i + rep * 5) % calls.length]!);
        const answers = await probing(() => Promise.all(order.map(([what, fn]) => untilFinal(fn).then((a) => [what, a] as const))));
        fig.mixedStorms++;
        const outcome = (what: string): string[] => answers.filter(([w]) => w === what).map(([, a]) => codeName(a));
        const deleted = outcome('delete').includes('OK');
        const published = outcome('publish').includes('OK');
        const key = `delete ${deleted ? 'won' : 'refused'} / publish ${published ? 'done' : 'refused'} / snapshot ${outcome('snapshot').includes('OK') ? 'taken' : 'refused'}`;
        fig.mixedOutcomes[key] = (fig.mixedOutcomes[key] ?? 0) + 1;
        // Allowed final answers: a published volume refuses deletion; a deleted one refuses publish and snapshot.
        for (const c of outcome('delete')) expect(['OK', 'FAILED_PRECONDITION']).toContain(c);
        for (const c of outcome('publish')) expect(['OK', 'NOT_FOUND']).toContain(c);
        for (const c of outcome('snapshot')) expect(['OK', 'NOT_FOUND']).toContain(c);
        expect(deleted && published).toBe(false);
        const records = (await volumeRecords()).filter((r) => r['id'] === volumeId);
        expect(records.length).toBe(deleted ? 0 : 1);
        const attachments = (await readdir(path.join(stateDir, 'records', 'attachments'))).filter((n) => n.startsWith(`${volumeId}.`));
        expect(attachments.length).toBe(published ? 1 : 0);
        if (!deleted) expect(await sha256File(dataFile)).toBe(before);
        const snapIds = new Set(answers.filter(([w, a]) => w === 'snapshot' && a.ok).map(([, a]) => (a.ok ? (a.res['snapshot'] as { snapshot_id: string }).snapshot_id : '')));
        expect(snapIds.size).toBeLessThanOrEqual(1);
        for (const id of snapIds) {
          const copy = path.join(stateDir, 'snapshots', id, path.basename(dataFile));
          expect(await sha256File(copy)).toBe(before);
        }
      }
    });
  }

  it('16 concurrent identical NodePublishVolume calls mount the target exactly once', async () => {
    const kind = VOLUME_KINDS.find((k) => k.accessType === 'mount')!;
    for (let rep = 0; rep < b.stormRepeats; rep++) {
      const created = await untilFinal(() => send(clients, 'controller', 'CreateVolume', createRequest(kind, `storm-publish-${rep}`)));
      const volumeId = created.ok ? (created.res['volume'] as { volume_id: string }).volume_id : '';
      const staging = path.join(root, 'kubelet', 'staging', volumeId);
      const target = path.join(root, 'kubelet', 'pods', `p${rep}`, 'mount');
      const cap = capabilityOf(kind);
      const stage = await untilFinal(() => send(clients, 'node', 'NodeStageVolume', { volume_id: volumeId, staging_target_path: staging, volume_capability: cap }));
      expect(codeName(stage)).toBe('OK');
      const req = { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: cap, readonly: false };
      const answers = await probing(() => Promise.all(Array.from({ length: 16 }, () => untilFinal(() => send(clients, 'node', 'NodePublishVolume', req)))));
      fig.publishStorms++;
      expect(answers.map(codeName)).toEqual(Array(16).fill('OK'));
      const layers = (await mountsUnder(path.join(root, 'kubelet'))).filter((m) => m.mountPoint === target).length;
      fig.mountLayersPerPublishStorm.push(layers);
      expect(layers).toBe(1);
      expect(codeName(await untilFinal(() => send(clients, 'node', 'NodeUnpublishVolume', { volume_id: volumeId, target_path: target })))).toBe('OK');
      expect(codeName(await untilFinal(() => send(clients, 'node', 'NodeUnstageVolume', { volume_id: volumeId, staging_target_path: staging })))).toBe('OK');
    }
  });
});

import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume__Output } from '../../src/generated/csi/v1/Volume';
import { call } from '../helpers/csi-client';
import { createSnapshot, createVolume, DataScratch, loopsUnder, MiB, run, stageAndPublish } from '../helpers/data';
import { isRoot, mountCapability, mountPointsUnder, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();
const MAIN_JS = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

/** Runs the real CLI as an operator would (`node dist/main.js inspect ...`). */
function inspect(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, 'inspect', ...args], { timeout: 60_000, maxBuffer: 16 * MiB }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

async function inspectJson<T>(stateDir: string, command: string): Promise<T> {
  const res = await inspect([command, '--state-dir', stateDir, '-o', 'json']);
  if (res.stderr !== '') throw new Error(res.stderr);
  return JSON.parse(res.stdout) as T;
}

type Row = Record<string, unknown>;

/** Every entry under `dir` with what a change would alter: type, size, mode and mtime. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await lstat(p);
      out[path.relative(dir, p)] = `${st.mode}:${st.size}:${st.mtimeMs}`;
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

describe.skipIf(!isRoot)(`hostpath-csi inspect on a real state directory${NEEDS_ROOT}`, () => {
  let root: string;
  let state: string;
  let driver: DriverProcess;
  const vols: Record<string, Volume__Output> = {};
  const ids: Record<string, string> = {};
  const leakedMount = (): string => path.join(root, 'leaked', 'mnt');

  beforeAll(async () => {
    root = await scratch.dir();
    state = path.join(root, 'state');
    await mkdir(path.join(state, 'records', 'volumes'), { recursive: true });
    // Quarantined at start-up: the driver cannot read it.
    await writeFile(path.join(state, 'records', 'volumes', 'torn-volume.json'), '{"id":"torn-volume","na');
    driver = await scratch.start({ root });
    const c = driver.clients.controller;
    vols['dir'] = await createVolume(driver, { name: 'pv-dir', bytes: 8 * MiB });
    vols['block'] = await createVolume(driver, { name: 'pv-block', bytes: 16 * MiB, block: true });
    vols['image'] = (await call(c.CreateVolume.bind(c), { name: 'pv-image', capacity_range: { required_bytes: String(32 * MiB) }, volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')], parameters: { sizeLimit: 'image' } })).volume!;
    vols['gone'] = await createVolume(driver, { name: 'pv-gone', bytes: 4 * MiB });
    await call(c.ControllerPublishVolume.bind(c), { volume_id: vols['dir'].volume_id, node_id: driver.nodeId, volume_capability: mountCapability('SINGLE_NODE_WRITER'), readonly: false });
    ids['dirPub'] = (await stageAndPublish(driver, vols['dir'].volume_id, root)).targetPath;
    ids['blockPub'] = (await stageAndPublish(driver, vols['block'].volume_id, root, true)).targetPath;
    ids['imagePub'] = (await stageAndPublish(driver, vols['image'].volume_id, root)).targetPath;
    ids['snap'] = (await createSnapshot(driver, 'snap-dir', vols['dir'].volume_id)).snapshot_id;
    const g = driver.clients.groupController;
    ids['group'] = (await call(g.CreateVolumeGroupSnapshot.bind(g), { name: 'group-1', source_volume_ids: [vols['dir'].volume_id, vols['gone'].volume_id] })).group_snapshot!.group_snapshot_id;
    const n = driver.clients.node;
    ids['inlineTarget'] = path.join(root, 'pods', 'inline', 'mount');
    await call(n.NodePublishVolume.bind(n), { volume_id: 'inline-1', target_path: ids['inlineTarget'], volume_capability: mountCapability('SINGLE_NODE_WRITER'), readonly: false, volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', size: '8Mi' } });
    // An inline image: its own mount (ephemeral/<id>/fs) and loop device are the node's, not orphans.
    ids['inlineImageTarget'] = path.join(root, 'pods', 'inline-img', 'mount');
    const imageContext = { 'csi.storage.k8s.io/ephemeral': 'true', sizeLimit: 'image', size: '8Mi' };
    await call(n.NodePublishVolume.bind(n), { volume_id: 'inline-img', target_path: ids['inlineImageTarget'], volume_capability: mountCapability('SINGLE_NODE_WRITER'), readonly: false, volume_context: imageContext });
    await makeOrphans();
  });

  /** One of every kind of orphan, made by hand as a crash, a bug or an operator would leave it. */
  async function makeOrphans(): Promise<void> {
    await mkdir(path.join(state, 'volumes', 'stray-vol'));
    await mkdir(path.join(state, 'snapshots', 'stray-snap'));
    await mkdir(path.join(state, 'ephemeral', 'stray-inline'), { recursive: true });
    await rm(path.join(state, 'volumes', vols['gone']!.volume_id), { recursive: true });
    const record = (o: object): string => JSON.stringify({ formatVersion: 1, ...o });
    await writeFile(path.join(state, 'records', 'attachments', 'ghost-att.json'), record({ id: 'ghost-att', volumeId: 'ghost-vol', nodeId: 'n1', readonly: false, mode: 'SINGLE_NODE_WRITER', createdAt: '2026-01-01T00:00:00.000Z' }));
    await writeFile(path.join(state, 'records', 'node', 'ghost-node.json'), record({ id: 'ghost-node', stagingPath: '/nowhere', loopDevice: null, targets: {} }));
    await writeFile(path.join(state, 'records', 'snapshots', 'bad-snap.json'), '{"id":');
    await mkdir(leakedMount(), { recursive: true });
    await run('mount', ['--bind', path.join(state, 'volumes', vols['dir']!.volume_id), leakedMount()]);
    ids['leakedLoop'] = (await run('losetup', ['--find', '--show', '--read-only', path.join(state, 'volumes', vols['block']!.volume_id, 'disk.img')])).trim();
  }

  afterAll(async () => {
    if (driver && !driver.exit) await driver.stop();
    // This test leaves mounts and loop devices on purpose: take them down before the scratch checks for leaks.
    for (const m of (await mountPointsUnder(root)).reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    for (const l of await loopsUnder([root])) await run('losetup', ['--detach', l.device]).catch(() => undefined);
    const { leftMounts, leftDirs, leftLoops } = await scratch.disposeAll();
    expect(leftMounts).toEqual([]);
    expect(leftDirs).toEqual([]);
    expect(leftLoops).toEqual([]);
  });

  const expectedOrphans = (): string[][] =>
    [
      ['data-without-record', 'stray-vol'],
      ['data-without-record', 'stray-snap'],
      ['data-without-record', 'stray-inline'],
      ['record-without-data', vols['gone']!.volume_id],
      ['attachment-of-missing-volume', 'ghost-att'],
      ['node-record-of-missing-volume', 'ghost-node'],
      ['mount-unaccounted', leakedMount()],
      ['loop-device-unaccounted', ids['leakedLoop']!],
    ].sort();

  async function checkEverything(): Promise<void> {
    const volumes = await inspectJson<Row[]>(state, 'volumes');
    const byName = Object.fromEntries(volumes.map((v) => [v['name'], v]));
    expect(volumes.map((v) => [v['name'], v['kind'], v['state']]).sort()).toEqual([
      ['(inline)', 'ephemeral', 'ready'],
      ['(inline)', 'ephemeral', 'ready'],
      ['pv-block', 'block', 'ready'],
      ['pv-dir', 'dir', 'ready'],
      ['pv-gone', 'dir', 'ready'],
      ['pv-image', 'image', 'ready'],
    ]);
    expect(byName['pv-dir']).toMatchObject({ capacityBytes: String(8 * MiB), node: driver.nodeId, stagedAt: path.join(root, 'staging', vols['dir']!.volume_id), publishedAt: [ids['dirPub']], attachedTo: [driver.nodeId] });
    expect(byName['pv-block']).toMatchObject({ publishedAt: [ids['blockPub']], loopDevice: expect.stringMatching(/^\/dev\/loop\d+$/) });
    expect(Number(byName['pv-image']!['usedBytes'])).toBeGreaterThan(0);
    expect(byName['pv-gone']!['usedBytes']).toBeNull();
    // The controller's health checks (src/kinds/<kind>/health.ts): only the volume whose directory was removed is abnormal.
    expect(volumes.map((v) => [v['name'], v['health']]).sort()).toEqual([
      ['(inline)', null],
      ['(inline)', null],
      ['pv-block', 'ok'],
      ['pv-dir', 'ok'],
      ['pv-gone', 'VolumeDirectoryMissing'],
      ['pv-image', 'ok'],
    ]);
    const byId = Object.fromEntries(volumes.map((v) => [v['id'], v]));
    expect(byId['inline-1']).toMatchObject({ name: '(inline)', capacityBytes: String(8 * MiB), publishedAt: [ids['inlineTarget']], loopDevice: null });
    expect(byId['inline-img']).toMatchObject({ name: '(inline)', capacityBytes: String(8 * MiB), publishedAt: [ids['inlineImageTarget']], loopDevice: expect.stringMatching(/^\/dev\/loop\d+$/) });

    const snapshots = await inspectJson<Row[]>(state, 'snapshots');
    expect(snapshots.map((s) => [s['name'], s['sourceVolume'], s['state'], s['group'] === null ? null : 'group'])).toEqual(
      expect.arrayContaining([['snap-dir', vols['dir']!.volume_id, 'ready', null]]),
    );
    expect(snapshots.filter((s) => s['group'] === ids['group'])).toHaveLength(2);
    expect((await inspectJson<Row[]>(state, 'groups')).map((g) => [g['id'], g['name'], (g['volumes'] as string[]).length])).toEqual([[ids['group'], 'group-1', 2]]);
    expect((await inspectJson<Row[]>(state, 'attachments')).map((a) => a['volume']).sort()).toEqual([vols['dir']!.volume_id, 'ghost-vol'].sort());
    const quarantine = await inspectJson<Row[]>(state, 'quarantine');
    expect(quarantine.map((q) => [q['store'], q['id'], q['state']]).sort()).toEqual([
      ['snapshots', 'bad-snap', 'unreadable'],
      ['volumes', 'torn-volume', 'quarantined'],
    ]);

    const orphans = await inspect(['orphans', '--state-dir', state, '-o', 'json']);
    expect(orphans.code).toBe(1);
    expect((JSON.parse(orphans.stdout) as Row[]).map((o) => [o['kind'], o['subject']]).sort()).toEqual(expectedOrphans());
  }

  it('lists every object and finds every orphan while the driver runs', async () => {
    await checkEverything();
  });

  it('says the same once the driver is stopped, and changes nothing in the state directory', async () => {
    expect((await driver.stop()).code).toBe(0);
    const before = await fingerprint(state);
    await checkEverything();
    for (const command of ['all', 'doctor']) expect((await inspect([command, '--state-dir', state])).stderr).toBe('');
    expect(await fingerprint(state)).toEqual(before);
  });

  it('prints tables with a header line, and a clean state reports no orphans with status 0', async () => {
    const table = await inspect(['volumes', '--state-dir', state, '--no-usage']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+KIND\s+ACCESS-TYPE\s+STATE\s+CAPACITY-BYTES\s+USED-BYTES/);
    expect(table.stdout.split('\n').filter((l) => l.includes('pv-'))).toHaveLength(4);
    const empty = await scratch.dir();
    expect(await inspect(['orphans', '--state-dir', empty])).toEqual({ code: 0, stdout: '(none)\n', stderr: '' });
  });

  it('doctor names the state filesystem and says which kinds work', async () => {
    const res = await inspectJson<{ checks: Row[]; kinds: Row[] }>(state, 'doctor');
    expect(res.checks.map((c) => c['name'])).toEqual(['state directory', 'filesystem', 'free space', 'reflink', 'project quotas', 'capabilities', 'loop devices', 'kernel filesystems', 'tools']);
    expect(res.checks.find((c) => c['name'] === 'state directory')).toMatchObject({ verdict: 'ok', detail: `${state}, mode 0700` });
    expect(res.kinds.find((k) => String(k['kind']).startsWith('dir'))).toMatchObject({ works: true });
    // This host made a ready image and block volume above, so the doctor must not say they cannot work.
    expect(res.kinds.find((k) => String(k['kind']).startsWith('image ext4'))).toMatchObject({ works: true });
    expect(res.kinds.find((k) => String(k['kind']).startsWith('block'))).toMatchObject({ works: true });
  });

  it('a bad command line exits 2 with one line', async () => {
    expect(await inspect(['volumes', '--output', 'yaml'])).toEqual({ code: 2, stdout: '', stderr: 'hostpath-csi inspect: --output "yaml": table or json\n' });
    expect((await inspect(['nonsense'])).code).toBe(2);
  });
});

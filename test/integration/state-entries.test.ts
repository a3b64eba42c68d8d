import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { exists, mountCapability, Scratch, type DriverProcess } from '../helpers/driver-process';

const run = promisify(execFile);
const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

const RECORD_FOLDERS = ['volumes', 'attachments', 'node', 'snapshots', 'group-snapshots'];
const KINDS = ['dir', 'fifo', 'socket', 'symlink', 'device'] as const;
type Kind = (typeof KINDS)[number];

/** Makes a non-regular file system object of the given type at `p` (a socket file with nothing listening). */
async function plant(kind: Kind, p: string): Promise<void> {
  if (kind === 'dir') await mkdir(p);
  else if (kind === 'fifo') await run('mkfifo', [p]);
  else if (kind === 'device') await run('mknod', [p, 'c', '1', '3']);
  else if (kind === 'symlink') await symlink('/etc/hostname', p);
  // Node's (libuv's) listener unlinks its socket file on close: python's bind leaves it, as a crashed server would.
  else await run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]);
}

/**
 * CSI spec, CreateVolume: a name that exists with arguments the driver cannot confirm as compatible answers
 * ALREADY_EXISTS. A volume whose record is quarantined has a name and data but no readable arguments.
 */
describe('a quarantined volume across restarts (issue 13, defect 4)', () => {
  let root: string;
  let stateDir: string;
  let tornId: string;
  let sourceId: string;
  let tornSnapId: string;
  let driver: DriverProcess | null = null;
  /** Torn after the name: what a lost write-back leaves (the name is still readable, the rest is not). */
  async function tearAfterName(file: string): Promise<void> {
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.indexOf('"name"') + 30));
  }

  beforeAll(async () => {
    root = await scratch.dir();
    const first = await scratch.start({ root });
    stateDir = first.stateDir;
    const c = first.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-torn', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    tornId = res.volume!.volume_id;
    await writeFile(path.join(stateDir, 'volumes', tornId, 'precious.txt'), 'user data');
    const src = await call(c.CreateVolume.bind(c), { name: 'pv-source', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    sourceId = src.volume!.volume_id;
    tornSnapId = (await call(c.CreateSnapshot.bind(c), { name: 'snap-torn', source_volume_id: sourceId })).snapshot!.snapshot_id;
    expect((await first.stop()).code).toBe(0);
    await tearAfterName(path.join(stateDir, 'records', 'volumes', `${tornId}.json`));
    await tearAfterName(path.join(stateDir, 'records', 'snapshots', `${tornSnapId}.json`));
  });

  afterAll(async () => {
    if (driver) expect((await driver.stop()).code).toBe(0);
  });

  for (const restart of [1, 2, 3]) {
    it(`after restart ${restart}: abnormal, listed, undeletable, its name taken, its data kept`, async () => {
      if (driver) expect((await driver.stop()).code).toBe(0);
      driver = await scratch.start({ root });
      const c = driver.clients.controller;
      const got = await call(c.ControllerGetVolume.bind(c), { volume_id: tornId });
      expect(got.status?.volume_condition?.abnormal).toBe(true);
      expect(got.status?.volume_condition?.message).toContain('quarantine');
      const listed = await call(c.ListVolumes.bind(c), {});
      expect(listed.entries.map((e) => e.volume?.volume_id)).toContain(tornId);
      expect(await codeOf(call(c.DeleteVolume.bind(c), { volume_id: tornId }))).toBe(status.FAILED_PRECONDITION);
      const again = call(c.CreateVolume.bind(c), { name: 'pv-torn', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
      expect(await codeOf(again)).toBe(status.ALREADY_EXISTS);
      expect(await readFile(path.join(stateDir, 'volumes', tornId, 'precious.txt'), 'utf8')).toBe('user data');
      expect((await readdir(path.join(stateDir, 'volumes'))).sort()).toEqual([tornId, sourceId].sort());
    });

    it(`after restart ${restart}: a quarantined snapshot is undeletable, its name taken, its data kept`, async () => {
      const c = driver!.clients.controller;
      expect(await codeOf(call(c.DeleteSnapshot.bind(c), { snapshot_id: tornSnapId }))).toBe(status.FAILED_PRECONDITION);
      expect(await codeOf(call(c.CreateSnapshot.bind(c), { name: 'snap-torn', source_volume_id: sourceId }))).toBe(status.ALREADY_EXISTS);
      expect(await readdir(path.join(stateDir, 'snapshots'))).toEqual([tornSnapId]);
    });
  }
});

describe('non-regular entries where records and journal segments belong (issue 13, defect 3)', () => {
  let root: string;
  let stateDir: string;
  let healthyId: string;
  let driver: DriverProcess;
  const planted: string[] = [];
  const strayRecordIds: string[] = [];

  beforeAll(async () => {
    root = await scratch.dir();
    const first = await scratch.start({ root });
    stateDir = first.stateDir;
    const c = first.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-healthy', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    healthyId = res.volume!.volume_id;
    expect((await first.stop()).code).toBe(0);
    for (const folder of RECORD_FOLDERS) {
      const records = path.join(stateDir, 'records', folder);
      const journal = `${records}.journal`;
      await mkdir(records, { recursive: true });
      await mkdir(journal, { recursive: true });
      for (const [i, kind] of KINDS.entries()) {
        const id = randomUUID();
        strayRecordIds.push(id);
        const names = [path.join(records, `${id}.json`), path.join(records, `x${i}.json.tmp-1-${i}`), path.join(journal, `${String(i + 2).padStart(12, '0')}.log`)];
        for (const p of names) await plant(kind, p);
        planted.push(...names);
      }
    }
    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    if (driver) expect((await driver.stop()).code).toBe(0);
  });

  it('starts, and serves the healthy volume', async () => {
    const c = driver.clients.controller;
    const got = await call(c.ControllerGetVolume.bind(c), { volume_id: healthyId });
    expect(got.status?.volume_condition?.abnormal).toBe(false);
  });

  it('moves every planted entry out of the record and journal folders, with one log line each', async () => {
    const left = [];
    for (const p of planted) if (await exists(p)) left.push(p);
    expect(left).toEqual([]);
    const moved = driver.stderr.split('\n').filter((l) => l.includes('not a regular file'));
    expect(moved).toHaveLength(planted.length);
  });

  it('keeps a planted volume record ID known and abnormal rather than forgetting it', async () => {
    const c = driver.clients.controller;
    const volumeStrays = strayRecordIds.slice(0, KINDS.length);
    for (const id of volumeStrays) {
      const got = await call(c.ControllerGetVolume.bind(c), { volume_id: id });
      expect(got.status?.volume_condition?.abnormal).toBe(true);
    }
  });

  it('still creates and deletes volumes, and journals them', async () => {
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-after', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    await call(c.DeleteVolume.bind(c), { volume_id: res.volume!.volume_id });
  });
});

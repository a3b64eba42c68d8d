import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { exists, mountCapability, Scratch, type DriverProcess } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

/**
 * One driver creates a real volume (its record is the template for hand-written ones) and stops. The state dir is
 * then doctored as a crash would leave it, and a second driver starts on it.
 */
describe('start-up reconciliation of a state dir left by a crash', () => {
  let driver: DriverProcess;
  let stateDir: string;
  let readyId: string;
  const creatingId = randomUUID();
  const deletingId = randomUUID();
  const orphanId = randomUUID();

  const recordFile = (id: string): string => path.join(stateDir, 'records', 'volumes', `${id}.json`);
  const volumeDir = (id: string): string => path.join(stateDir, 'volumes', id);

  async function handWrite(template: Record<string, unknown>, id: string, phase: string): Promise<void> {
    await writeFile(recordFile(id), JSON.stringify({ ...template, id, name: `pv-${phase}`, phase }));
    await mkdir(volumeDir(id));
    await writeFile(path.join(volumeDir(id), 'data.txt'), phase);
  }

  beforeAll(async () => {
    const root = await scratch.dir();
    const first = await scratch.start({ root });
    stateDir = first.stateDir;
    const c = first.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-ready', capacity_range: { required_bytes: '1048576' }, volume_capabilities: [mountCapability()] });
    readyId = res.volume!.volume_id;
    expect((await first.stop()).code).toBe(0);

    const template = JSON.parse(await readFile(recordFile(readyId), 'utf8')) as Record<string, unknown>;
    expect(template['phase']).toBe('ready');
    await handWrite(template, creatingId, 'creating');
    await handWrite(template, deletingId, 'deleting');
    await mkdir(volumeDir(orphanId));
    await writeFile(path.join(volumeDir(orphanId), 'precious.txt'), 'user data');
    await writeFile(recordFile('garbage'), '{"id":');

    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('rolls back a record in phase creating: its record and directory are gone', async () => {
    expect(await exists(recordFile(creatingId))).toBe(false);
    expect(await exists(volumeDir(creatingId))).toBe(false);
  });

  it('finishes a record in phase deleting: its record and directory are gone', async () => {
    expect(await exists(recordFile(deletingId))).toBe(false);
    expect(await exists(volumeDir(deletingId))).toBe(false);
  });

  it('leaves a volume directory that has no record in place, contents untouched', async () => {
    expect(await readFile(path.join(volumeDir(orphanId), 'precious.txt'), 'utf8')).toBe('user data');
  });

  it('logs the directory that has no record', () => {
    expect(driver.stderr).toContain(volumeDir(orphanId));
  });

  it('moves a truncated record file into <state>/quarantine/', async () => {
    expect(await exists(recordFile('garbage'))).toBe(false);
    const quarantined = await readdir(path.join(stateDir, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(await readFile(path.join(stateDir, 'quarantine', quarantined[0]!), 'utf8')).toBe('{"id":');
  });

  it('logs one error line naming the quarantined file', () => {
    const lines = driver.logLines().filter((l) => JSON.stringify(l).includes(recordFile('garbage')));
    expect(lines).toHaveLength(1);
    expect(lines[0]!['level']).toBeGreaterThanOrEqual(50);
  });

  it('becomes ready and lists the volume that was ready before, and the quarantined one as abnormal', async () => {
    expect(await driver.probeReady()).toBe(true);
    const c = driver.clients.controller;
    const res = await call(c.ListVolumes.bind(c), {});
    const listed = res.entries.map((e) => [e.volume!.volume_id, e.status!.volume_condition!.abnormal]);
    expect(listed).toEqual([[readyId, false], ['garbage', true]].sort());
  });

  it('keeps the ready volume directory', async () => {
    expect(await exists(volumeDir(readyId))).toBe(true);
  });
});

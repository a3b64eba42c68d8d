/**
 * Issue 13, defect 7: failures that used to bypass the one error map (or were swallowed) reach the client with the
 * code that says what happened.
 */
import { status } from '@grpc/grpc-js';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toStatus } from '../../src/grpc/status';
import { loadVolume } from '../../src/node/node-deps';
import type { VolumeBackend } from '../../src/volumes/backend';
import type { VolumeCatalog } from '../../src/volumes/catalog';
import type { VolumeKind, VolumeRecord } from '../../src/volumes/model';
import { ProjectIdAllocator } from '../../src/kinds/quota/project-ids';
import { reservedBytes } from '../../src/volumes/reservations';
import { createVolumeRequest, invoke, MiB, range, startDriver, type TestDriver } from '../helpers/fakes';

/** Paths whose reads fail with EIO, as a failing disk makes them. */
const failingReads = new Set<string>();

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const eio = (file: unknown): Error => Object.assign(new Error(`EIO: i/o error, open '${String(file)}'`), { code: 'EIO', errno: -5 });
  const readFile = (async (...args: Parameters<typeof real.readFile>) => {
    if (failingReads.has(String(args[0]))) throw eio(args[0]);
    return real.readFile(...args);
  }) as typeof real.readFile;
  const open = (async (...args: Parameters<typeof real.open>) => {
    if (failingReads.has(String(args[0]))) throw eio(args[0]);
    return real.open(...args);
  }) as typeof real.open;
  return { ...real, readFile, open, default: { ...real, readFile, open } };
});

let driver: TestDriver | null = null;
afterEach(async () => {
  failingReads.clear();
  await driver?.cleanup();
  driver = null;
});

describe('errors through the one error map', () => {
  it('answers RESOURCE_EXHAUSTED, naming the range, when every project ID is in use', () => {
    const ids = new ProjectIdAllocator(10, 12);
    expect([ids.take(), ids.take(), ids.take()]).toEqual([10, 11, 12]);
    let err: unknown;
    try {
      ids.take();
    } catch (e) {
      err = e;
    }
    expect(toStatus(err)).toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringMatching(/every project ID from 10 to 12 is in use/) });
  });

  it('counts a volume whose reservation cannot be read as wholly unused, never as 0 bytes', async () => {
    const volume = { id: 'v1', kind: 'image', phase: 'ready', capacityBytes: String(64n * MiB) } as VolumeRecord;
    const failing = { unusedReservation: async () => Promise.reject(new Error('EIO')) } as unknown as VolumeBackend;
    const deps = { catalog: { volumes: new Map([['v1', volume]]) } as unknown as VolumeCatalog, backends: new Map<VolumeKind, VolumeBackend>([['image', failing]]) };
    expect(await reservedBytes(deps)).toBe(64n * MiB);
  });

  it('answers INTERNAL naming EIO, not FAILED_PRECONDITION, when a volume record cannot be read', async () => {
    driver = await startDriver();
    const res = await invoke(driver.controller.CreateVolume, createVolumeRequest('pv-eio', { capacity_range: range(MiB) }));
    const id = res.volume!.volume_id!;
    failingReads.add(driver.layout.volumeRecordFile(id));
    const err = await loadVolume(driver.nodeDeps, id).then(() => null, (e: unknown) => e);
    expect(toStatus(err)).toMatchObject({ code: status.INTERNAL, message: `reading the state record of volume ${id} failed: EIO` });
  });

  it('still answers FAILED_PRECONDITION for a record that was read and does not parse', async () => {
    driver = await startDriver();
    const res = await invoke(driver.controller.CreateVolume, createVolumeRequest('pv-torn', { capacity_range: range(MiB) }));
    const id = res.volume!.volume_id!;
    await writeFile(driver.layout.volumeRecordFile(id), '{"id": "torn');
    const err = await loadVolume(driver.nodeDeps, id).then(() => null, (e: unknown) => e);
    expect(toStatus(err).code).toBe(status.FAILED_PRECONDITION);
  });
});

import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirSyncer } from '../../../src/state/dir-sync';
import { VolumeCatalog } from '../../../src/volumes/catalog';
import type { ControllerDeps } from '../../../src/volumes/controller-deps';
import { attachmentId } from '../../../src/volumes/layout';
import { reconcileController, type ReconcileReport } from '../../../src/volumes/reconcile';
import { controllerPublishRequest, createVolumeId, invoke, NODE_ID, silentLogger, startDriver, type TestDriver } from '../../helpers/fakes';

let d: TestDriver;
const log = silentLogger();

beforeEach(async () => {
  d = await startDriver();
});

afterEach(async () => {
  await d.cleanup();
});

/** What a restarted controller does: a fresh catalog loaded from the same state dir, then reconciliation. */
async function restart(): Promise<{ deps: ControllerDeps; report: ReconcileReport }> {
  const deps: ControllerDeps = { ...d.controllerDeps, catalog: new VolumeCatalog(d.layout, new DirSyncer()) };
  await deps.catalog.load(log);
  return { deps, report: await reconcileController(deps, log) };
}

/** Rewrites a volume's record in another phase, as if the driver had crashed there. */
async function crashIn(id: string, phase: 'creating' | 'deleting'): Promise<void> {
  const vol = d.controllerDeps.catalog.getVolume(id)!;
  await d.controllerDeps.catalog.putVolume({ ...vol, phase });
}

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('reconcileController', () => {
  it('rolls back a create that never answered: directory and record gone', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await crashIn(id, 'creating');
    const { deps, report } = await restart();
    expect(report.rolledBack).toBe(1);
    expect(await exists(d.layout.volumeDataDir(id))).toBe(false);
    expect(await exists(d.layout.volumeRecordFile(id))).toBe(false);
    expect(deps.catalog.getVolume(id)).toBeUndefined();
    expect(deps.catalog.getVolumeByName('pvc-1')).toBeUndefined();
  });

  it('finishes an interrupted delete: directory and record gone', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await crashIn(id, 'deleting');
    const { deps, report } = await restart();
    expect(report.deletesFinished).toBe(1);
    expect(await exists(d.layout.volumeDataDir(id))).toBe(false);
    expect(await exists(d.layout.volumeRecordFile(id))).toBe(false);
    expect(deps.catalog.getVolume(id)).toBeUndefined();
  });

  it('finishes a delete whose directory was already removed', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await crashIn(id, 'deleting');
    await d.controllerDeps.backends.get('dir')!.remove(d.controllerDeps.catalog.getVolume(id)!);
    const { report } = await restart();
    expect(report.deletesFinished).toBe(1);
    expect(await exists(d.layout.volumeRecordFile(id))).toBe(false);
  });

  it('keeps a ready volume untouched', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await writeFile(path.join(d.layout.volumeDataDir(id), 'data'), 'keep me');
    const { deps, report } = await restart();
    expect(report).toEqual({ rolledBack: 0, deletesFinished: 0, abnormal: 0, orphanDirs: 0, danglingAttachments: 0 });
    expect(deps.catalog.getVolume(id)?.phase).toBe('ready');
    expect(await readdir(d.layout.volumeDataDir(id))).toEqual(['data']);
  });

  it('counts a ready volume whose directory is missing as abnormal and keeps its record', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await d.controllerDeps.backends.get('dir')!.remove(d.controllerDeps.catalog.getVolume(id)!);
    const { deps, report } = await restart();
    expect(report.abnormal).toBe(1);
    expect(deps.catalog.getVolume(id)).toBeDefined();
  });

  it('leaves an orphan directory with no record in place, with its data', async () => {
    const orphan = d.layout.volumeDataDir('orphan-1');
    await mkdir(orphan, { recursive: true });
    await writeFile(path.join(orphan, 'data'), 'maybe precious');
    const { report } = await restart();
    expect(report.orphanDirs).toBe(1);
    expect(await readdir(orphan)).toEqual(['data']);
  });

  it('does not count the directory of a quarantined record as an orphan, and keeps it', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    // Damaged after it was durable (checkpointed): before that, the journal would repair it instead.
    await d.controllerDeps.catalog.volumes.checkpoint();
    await writeFile(d.layout.volumeRecordFile(id), '{"torn');
    const { deps, report } = await restart();
    expect(deps.catalog.quarantinedVolume(id)).toMatch(/quarantine/);
    expect(report.orphanDirs).toBe(0);
    expect(await exists(d.layout.volumeDataDir(id))).toBe(true);
  });

  it('keeps the attachments of a volume whose record is quarantined (the volume may be in use)', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id));
    await d.controllerDeps.catalog.volumes.checkpoint();
    await writeFile(d.layout.volumeRecordFile(id), '{"torn');
    const { deps, report } = await restart();
    expect(deps.catalog.quarantinedVolume(id)).toMatch(/quarantine/);
    expect(report.danglingAttachments).toBe(0);
    expect(deps.catalog.attachmentsOf(id)).toHaveLength(1);
  });

  it('removes an attachment whose volume is gone', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id));
    await d.controllerDeps.catalog.volumes.delete(id);
    const { deps, report } = await restart();
    expect(report.danglingAttachments).toBe(1);
    expect(await exists(path.join(d.layout.attachmentRecordsDir, `${attachmentId(id, NODE_ID)}.json`))).toBe(false);
    expect(deps.catalog.attachCount(NODE_ID)).toBe(0);
  });

  it('keeps the attachment of a volume that exists', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id));
    const { deps, report } = await restart();
    expect(report.danglingAttachments).toBe(0);
    expect(deps.catalog.attachmentsOf(id)).toHaveLength(1);
    expect(deps.catalog.attachCount(NODE_ID)).toBe(1);
  });
});

/**
 * The unit-test driver is built by the same compose() and started by the same loadState() as src/app.ts, so a
 * restart over the same state directory behaves as the real one does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compose, loadState } from '../../src/compose';
import { PROJECT_ID_BASE } from '../../src/kinds/quota/project-ids';
import { controllerHandlers } from '../../src/services/controller';
import { createVolumeRequest, GiB, invoke, range, readyContext, sequentialIds, silentLogger, startDriver, type TestDriver } from '../helpers/fakes';

let d: TestDriver;
const log = silentLogger();

beforeEach(async () => {
  d = await startDriver();
});

afterEach(async () => {
  await d.cleanup();
});

/** A second driver over the first one's state directory and fakes: what a restart of the process sees. */
async function restarted() {
  const driver = compose(d.config, d.host, { log, newId: sequentialIds('again'), spaceReserve: false });
  driver.quota.setSupport({ supported: true, mountPoint: d.dir, fsType: 'xfs' });
  await loadState(driver, log);
  return driver;
}

describe('compose and loadState', () => {
  it('adopts the quota project IDs of existing volumes at start-up, so a new volume never shares one', async () => {
    const quota = { parameters: { sizeLimit: 'quota' }, capacity_range: range(GiB) };
    const first = (await invoke(d.controller.CreateVolume, createVolumeRequest('a', quota))).volume!.volume_id!;
    expect(d.controllerDeps.catalog.getVolume(first)!.projectId).toBe(PROJECT_ID_BASE);
    const again = await restarted();
    const handlers = controllerHandlers(readyContext(log), again.controller!);
    const second = (await invoke(handlers.CreateVolume, createVolumeRequest('b', quota))).volume!.volume_id!;
    expect(again.controller!.catalog.getVolume(second)!.projectId).toBe(PROJECT_ID_BASE + 1);
  });

  it('builds both roles in --mode all, and only the one asked for otherwise', () => {
      expect([d.controllerDeps, d.nodeDeps].every((x) => x !== null)).toBe(true);
    const controllerOnly = compose({ ...d.config, mode: 'controller' }, d.host, { log });
    const nodeOnly = compose({ ...d.config, mode: 'node' }, d.host, { log });
    expect([controllerOnly.controller !== null, controllerOnly.node, nodeOnly.controller, nodeOnly.node !== null]).toEqual([true, null, null, true]);
    // Node-driven expansion grows the storage in-process, so a node-only process cannot offer it.
    expect(compose({ ...d.config, mode: 'all', controllerExpansion: false }, d.host, { log }).node!.growVolume).not.toBeNull();
  });
});

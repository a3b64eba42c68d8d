import { status } from '@grpc/grpc-js';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { createSnapshot, createVolume, DataScratch, deleteVolume, MiB, stageAndPublish, unpublishAndUnstage } from '../helpers/data';
import { exists, isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

/** The exposition text as series → value, e.g. `hostpath_csi_volumes{kind="dir",state="ready"}` → 2. */
type Series = Map<string, number>;

function parseExposition(text: string): Series {
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function metricsPort(driver: DriverProcess): number {
  const line = driver.logLines().find((l) => l['msg'] === 'metrics server listening');
  if (!line) throw new Error(`no 'metrics server listening' line:\n${driver.stderr}`);
  return line['port'] as number;
}

async function scrape(driver: DriverProcess): Promise<Series> {
  const res = await fetch(`http://127.0.0.1:${metricsPort(driver)}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

const rpcCount = (s: Series, method: string, code: string): number => s.get(`hostpath_csi_rpc_duration_seconds_count{method="${method}",code="${code}"}`) ?? 0;
const journalEntries = (s: Series, store: string): number => s.get(`hostpath_csi_journal_batch_entries_sum{store="${store}"}`) ?? 0;

describe.skipIf(!isRoot)(`metrics endpoint of a real driver${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;

  beforeAll(async () => {
    root = await scratch.dir();
    // An unreadable volume record: start-up quarantines it, and the metrics must say so.
    await mkdir(path.join(root, 'state', 'records', 'volumes'), { recursive: true });
    await writeFile(path.join(root, 'state', 'records', 'volumes', 'torn-volume.json'), '{"id":"torn-volume","na');
    driver = await scratch.start({ root, extraArgs: ['--metrics-address=127.0.0.1:0'] });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('serves the default process metrics, build info and the start-up reconcile time', async () => {
    const s = await scrape(driver);
    expect(s.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(s.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(s.get(`hostpath_csi_build_info{version="0.1.0"}`)).toBe(1);
    expect(s.get('hostpath_csi_startup_reconcile_seconds')).toBeGreaterThan(0);
  });

  it('counts the quarantined volume record under kind "unknown"', async () => {
    const s = await scrape(driver);
    expect(s.get('hostpath_csi_volumes{kind="unknown",state="quarantined"}')).toBe(1);
  });

  it('counts calls by method and gRPC code, and in-flight calls return to 0', async () => {
    const before = await scrape(driver);
    await createVolume(driver, { name: 'm-dir-1', bytes: 4 * MiB });
    await createVolume(driver, { name: 'm-dir-2', bytes: 6 * MiB });
    const c = driver.clients.controller;
    expect(await codeOf(call(c.CreateVolume.bind(c), { name: '', volume_capabilities: [] }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(call(c.ControllerGetVolume.bind(c), { volume_id: 'no-such-volume' }))).toBe(status.NOT_FOUND);
    const after = await scrape(driver);
    expect(rpcCount(after, 'CreateVolume', 'OK') - rpcCount(before, 'CreateVolume', 'OK')).toBe(2);
    expect(rpcCount(after, 'CreateVolume', 'INVALID_ARGUMENT') - rpcCount(before, 'CreateVolume', 'INVALID_ARGUMENT')).toBe(1);
    expect(rpcCount(after, 'ControllerGetVolume', 'NOT_FOUND') - rpcCount(before, 'ControllerGetVolume', 'NOT_FOUND')).toBe(1);
    expect(after.get('hostpath_csi_rpcs_in_flight{method="CreateVolume"}')).toBe(0);
    expect(after.get('hostpath_csi_volumes{kind="dir",state="ready"}')).toBe(2);
    expect(after.get('hostpath_csi_provisioned_bytes{kind="dir"}')).toBe(10 * MiB);
    expect(after.get('hostpath_csi_promised_bytes{kind="dir"}')).toBe(0);
    // Each CreateVolume writes its record twice (creating, then ready): four journal entries, in any batching.
    expect(journalEntries(after, 'volumes') - journalEntries(before, 'volumes')).toBe(4);
    expect(after.get('hostpath_csi_journal_fdatasync_seconds_count{store="volumes"}')).toBeGreaterThan(0);
  });

  it('counts snapshots by kind and state, and free bytes follow the state filesystem', async () => {
    const vol = await createVolume(driver, { name: 'm-snap-src', bytes: 2 * MiB });
    await createSnapshot(driver, 'm-snap', vol.volume_id);
    const s = await scrape(driver);
    expect(s.get('hostpath_csi_snapshots{kind="dir",state="ready"}')).toBe(1);
    expect(s.get('hostpath_csi_state_filesystem_bytes{measure="size"}')).toBeGreaterThan(0);
    expect(s.get('hostpath_csi_free_bytes{kind="dir"}')).toBeLessThanOrEqual(s.get('hostpath_csi_state_filesystem_bytes{measure="available"}')!);
  });

  it('a staged block volume shows one loop device, its promise and its use; unstaged and deleted, none', async () => {
    const vol = await createVolume(driver, { name: 'm-block', bytes: 16 * MiB, block: true });
    const pub = await stageAndPublish(driver, vol.volume_id, root, true);
    const staged = await scrape(driver);
    expect(staged.get('hostpath_csi_loop_devices_attached')).toBe(1);
    expect(staged.get('hostpath_csi_node_staged_volumes')).toBe(1);
    expect(staged.get('hostpath_csi_node_published_targets')).toBe(1);
    expect(staged.get('hostpath_csi_volumes{kind="block",state="ready"}')).toBe(1);
    expect(staged.get('hostpath_csi_provisioned_bytes{kind="block"}')).toBe(16 * MiB);
    expect(staged.get('hostpath_csi_used_bytes{kind="block"}')! + staged.get('hostpath_csi_promised_bytes{kind="block"}')!).toBe(16 * MiB);
    await unpublishAndUnstage(driver, pub);
    await deleteVolume(driver, vol.volume_id);
    const gone = await scrape(driver);
    expect(gone.get('hostpath_csi_loop_devices_attached')).toBe(0);
    expect(gone.get('hostpath_csi_node_staged_volumes')).toBe(0);
    expect(gone.has('hostpath_csi_volumes{kind="block",state="ready"}')).toBe(false);
    expect(gone.get('hostpath_csi_provisioned_bytes{kind="block"}')).toBe(0);
    expect(rpcCount(gone, 'NodeStageVolume', 'OK')).toBe(1);
    expect(rpcCount(gone, 'NodeUnstageVolume', 'OK')).toBe(1);
  });

  it('answers /healthz and 404 elsewhere', async () => {
    const base = `http://127.0.0.1:${metricsPort(driver)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});

describe('metrics off by default', () => {
  it('a driver without --metrics-address opens no metrics server', async () => {
    const d = await scratch.start({ root: await scratch.dir() });
    expect(d.logLines().some((l) => l['msg'] === 'metrics server listening')).toBe(false);
    expect((await d.stop()).code).toBe(0);
  });
});

describe('metrics address in use', () => {
  it('start-up fails with status 1 naming the address, before the CSI socket is bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const d = scratch.spawn({ root: await scratch.dir(), extraArgs: [`--metrics-address=127.0.0.1:${port}`] });
      expect((await d.exited).code).toBe(1);
      expect(d.logLines().find((l) => l['msg'] === 'start-up failed')?.['err']).toMatchObject({ code: 'EADDRINUSE', port });
      expect(await exists(d.socketPath)).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

/**
 * Fakes and factories for unit tests: a fake Mounter and StatFs, a valid Config, a driver built by the same compose()
 * as src/app.ts (real state directory, real backends and records, fakes of the host), and one request factory per RPC
 * in the proto-loader `__Output` shape (defaults on: every field present, int64 as decimal strings, enums as strings).
 */
import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect } from 'vitest';
import { compose, loadState, type Host } from '../../src/compose';
import { parseCommand, type Config } from '../../src/config';
import type { ControllerExpandVolumeRequest__Output } from '../../src/generated/csi/v1/ControllerExpandVolumeRequest';
import type { ControllerHandlers } from '../../src/generated/csi/v1/Controller';
import type { ControllerPublishVolumeRequest__Output } from '../../src/generated/csi/v1/ControllerPublishVolumeRequest';
import type { CreateVolumeRequest__Output } from '../../src/generated/csi/v1/CreateVolumeRequest';
import type { CapacityRange__Output } from '../../src/generated/csi/v1/CapacityRange';
import type { GetCapacityRequest__Output } from '../../src/generated/csi/v1/GetCapacityRequest';
import type { NodeExpandVolumeRequest__Output } from '../../src/generated/csi/v1/NodeExpandVolumeRequest';
import type { NodeHandlers } from '../../src/generated/csi/v1/Node';
import type { NodePublishVolumeRequest__Output } from '../../src/generated/csi/v1/NodePublishVolumeRequest';
import type { NodeStageVolumeRequest__Output } from '../../src/generated/csi/v1/NodeStageVolumeRequest';
import type { ValidateVolumeCapabilitiesRequest__Output } from '../../src/generated/csi/v1/ValidateVolumeCapabilitiesRequest';
import type { VolumeCapability__Output } from '../../src/generated/csi/v1/VolumeCapability';
import { Gate, type AdapterContext } from '../../src/grpc/unary';
import type { Logger } from '../../src/log';
import type { NodeDeps } from '../../src/node/node-deps';
import type { TreeCopier } from '../../src/os/copy';
import { SystemBlockMaps } from '../../src/os/block-map';
import type { FsStats, StatFs } from '../../src/os/fs-stats';
import type { LoopDevices, LoopInfo } from '../../src/os/loop';
import type { BindOptions, MountEntry, Mounter } from '../../src/os/mount';
import { controllerHandlers } from '../../src/services/controller';
import { nodeHandlers } from '../../src/services/node';
import type { AccessMode } from '../../src/validate/capability';
import { QuotaBackend } from '../../src/kinds/quota/controller';
import { FakeFilesystems, FakeProjectQuotas } from './size-fakes';
import { StateLayout } from '../../src/volumes/layout';
import { SystemHealthProbe } from '../../src/os/health-probe';
import { systemHostFs } from '../../src/os/host-fs';
import { TOPOLOGY_KEY } from '../../src/volumes/topology';
import type { SnapshotDeps } from '../../src/snapshots/catalog';

export const GiB = 1024n ** 3n;
export const MiB = 1024n ** 2n;
export const NODE_ID = 'node-a';
/** The "major:minor" the fake deviceOf reports for the state directory, and the device of every fake bind mount. */
export const STATE_DEVICE = '8:1';

export function makeTempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'hostpath-csi-unit-'));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** A valid Config from flags (`{ 'max-volume-size': '10Gi' }`); nothing is read from the real environment. */
export function testConfig(overrides: Readonly<Record<string, string>> = {}): Config {
  const flags: Record<string, string> = {
    endpoint: 'unix:///tmp/hostpath-csi-unit.sock',
    'node-id': NODE_ID,
    'state-dir': path.join(tmpdir(), 'hostpath-csi-unit-unused'),
    'log-level': 'silent',
    ...overrides,
  };
  const parsed = parseCommand(Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]), {});
  if (parsed.kind !== 'run') throw new Error(`testConfig: parseCommand answered ${parsed.kind}`);
  return parsed.config;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A logger whose JSON lines are collected in `lines` (synchronously: a plain Writable, not sonic-boom). */
export function capturingLogger(level = 'debug'): { log: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = pino({ level }, stream);
  return { log, lines, text: () => lines.join('') };
}

export function readyContext(log: Logger = silentLogger()): AdapterContext {
  const gate = new Gate();
  gate.ready = true;
  return { log, gate };
}

/**
 * Mount table in memory, shaped like /proc/self/mountinfo: a bind records the root of whatever it binds (a bind of a
 * bind keeps the first root), and a bind of a device node shows as `/loopN` on devtmpfs.
 */
export class FakeMounter implements Mounter {
  readonly entries: MountEntry[] = [];
  readonly binds: Array<{ source: string; target: string; options: BindOptions }> = [];

  constructor(private readonly device: string = STATE_DEVICE) {}

  async bind(source: string, target: string, options: BindOptions): Promise<void> {
    this.binds.push({ source, target, options: { readonly: options.readonly, flags: [...options.flags] } });
    const under = this.topAt(source);
    const opts = [options.readonly ? 'ro' : 'rw', ...options.flags];
    if (under) this.entries.push({ ...under, mountPoint: target, options: opts });
    else if (source.startsWith('/dev/')) {
      this.entries.push({ mountPoint: target, root: source.slice(4), device: '0:5', fsType: 'devtmpfs', source: 'udev', options: opts, superOptions: [] });
    } else this.entries.push({ mountPoint: target, root: source, device: this.device, fsType: 'ext4', source: '/dev/sda1', options: opts, superOptions: [] });
  }

  /** A filesystem on a loop device: root "/", source the device, as mountinfo shows it. */
  async mountDevice(device: string, target: string, fsType: string): Promise<void> {
    const minor = /(\d+)$/.exec(device)?.[1] ?? '0';
    this.entries.push({ mountPoint: target, root: '/', device: `7:${minor}`, fsType, source: device, options: ['rw'], superOptions: ['rw'] });
  }

  async unmount(target: string): Promise<void> {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]!.mountPoint === target) {
        this.entries.splice(i, 1);
        return;
      }
    }
    throw new Error(`umount: ${target}: not mounted`);
  }

  async list(): Promise<MountEntry[]> {
    return this.entries.map((e) => ({ ...e, options: [...e.options] }));
  }

  /** Puts something that is not a volume of ours at `target` (e.g. a tmpfs a user mounted). */
  mountForeign(target: string): void {
    this.entries.push({ mountPoint: target, root: '/', device: '0:42', fsType: 'tmpfs', source: 'tmpfs', options: ['rw'], superOptions: [] });
  }

  mountsAt(target: string): MountEntry[] {
    return this.entries.filter((e) => e.mountPoint === target);
  }

  private topAt(p: string): MountEntry | undefined {
    return this.entries.filter((e) => e.mountPoint === p).at(-1);
  }
}

/** Copies with fs.cp in-process (no cp(1)); records each copy. */
export class FakeCopier implements TreeCopier {
  readonly copies: Array<{ source: string; dest: string }> = [];

  async probeReflink(): Promise<boolean> {
    return false;
  }

  async copyContents(source: string, dest: string): Promise<void> {
    this.copies.push({ source, dest });
    await cp(source, dest, { recursive: true, force: true });
  }
}

/** Loop devices in memory: /dev/loop0, /dev/loop1, ... each backed by one file, read-only or not. */
export class FakeLoopDevices implements LoopDevices {
  readonly attached = new Map<string, LoopInfo>();
  readonly refreshed: string[] = [];
  private next = 0;

  async backing(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file).map((l) => l.device);
  }

  async backingWritable(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file && !l.readOnly).map((l) => l.device);
  }

  async backingReadOnly(file: string): Promise<string[]> {
    return (await this.list()).filter((l) => l.file === file && l.readOnly).map((l) => l.device);
  }

  async attach(file: string, options: { readOnly?: boolean } = {}): Promise<string> {
    const device = `/dev/loop${this.next++}`;
    this.attached.set(device, { device, file, readOnly: options.readOnly ?? false });
    return device;
  }

  async detach(device: string): Promise<void> {
    if (!this.attached.delete(device)) throw new Error(`losetup: ${device}: detach failed: No such device or address`);
  }

  async refreshSize(device: string): Promise<void> {
    this.refreshed.push(device);
  }

  async list(): Promise<LoopInfo[]> {
    return [...this.attached.values()].map((l) => ({ ...l }));
  }
}

export interface FakeStatFs {
  stats: FsStats;
  calls: string[];
  statFs: StatFs;
}

export function fakeStatFs(stats: Partial<FsStats> = {}): FakeStatFs {
  const fake: FakeStatFs = {
    stats: { availableBytes: 50n * GiB, totalBytes: 100n * GiB, totalInodes: 1_000_000n, freeInodes: 900_000n, ...stats },
    calls: [],
    statFs: async (p) => {
      fake.calls.push(p);
      return { ...fake.stats };
    },
  };
  return fake;
}

/** IDs in creation order that also sort in creation order: vol-0001, vol-0002, ... */
export function sequentialIds(prefix = 'vol'): () => string {
  let n = 0;
  return () => `${prefix}-${String(++n).padStart(4, '0')}`;
}

export interface TestDriver {
  dir: string;
  config: Config;
  layout: StateLayout;
  statFs: FakeStatFs;
  mounter: FakeMounter;
  loops: FakeLoopDevices;
  copier: FakeCopier;
  filesystems: FakeFilesystems;
  quotas: FakeProjectQuotas;
  /** Its support starts as "XFS with prjquota at the state dir"; tests switch it off with setSupport. */
  quota: QuotaBackend;
  /** The fakes above as the Host compose() took (compose a restarted driver over the same state with it). */
  host: Host;
  controllerDeps: SnapshotDeps;
  nodeDeps: NodeDeps;
  controller: ControllerHandlers;
  node: NodeHandlers;
  /** Removes the temp state directory. */
  cleanup(): Promise<void>;
}

/** Builds controller and node deps over one fresh state dir, loads and reconciles state, and returns ready handlers. */
export async function startDriver(flags: Readonly<Record<string, string>> = {}): Promise<TestDriver> {
  const dir = await makeTempDir();
  // Node tests put staging and target paths under <dir>/kubelet, as kubelet does under its root directory.
  const config = testConfig({ 'state-dir': path.join(dir, 'state'), 'allowed-path-root': path.join(dir, 'kubelet'), ...flags });
  const log = silentLogger();
  const statFs = fakeStatFs();
  const copier = new FakeCopier();
  const loops = new FakeLoopDevices();
  const mounter = new FakeMounter();
  const filesystems = new FakeFilesystems();
  // The real probe on the test's own files; ext4 error counts are read from <dir>/sysfs-ext4/<loopN>/errors_count.
  const healthProbe = new SystemHealthProbe(path.join(dir, 'sysfs-ext4'));
  const quotas = new FakeProjectQuotas();
  // The real host filesystem over the temp dir: records are real files there, and tests assert on-disk effects.
  const host: Host = {
    fs: systemHostFs,
    statFs: statFs.statFs,
    deviceOf: async () => STATE_DEVICE,
    copier,
    loops,
    mounter,
    filesystems,
    projectQuotas: quotas,
    healthProbe,
    blockMaps: new SystemBlockMaps(),
  };
  // The same wiring and start-up as src/app.ts; only the host is fake, and records skip the space reserve.
  const driver = compose(config, host, { log, now: () => new Date('2025-01-01T00:00:00.000Z'), newId: sequentialIds(), spaceReserve: false });
  const { layout, quota } = driver;
  quota.setSupport({ supported: true, mountPoint: dir, fsType: 'xfs' });
  const controllerDeps = driver.controller!;
  const nodeDeps = driver.node!;
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  await loadState(driver, log);
  const ctx = readyContext(log);
  return {
    dir,
    config,
    layout,
    statFs,
    mounter,
    loops,
    copier,
    filesystems,
    quotas,
    quota,
    host,
    controllerDeps,
    nodeDeps,
    controller: controllerHandlers(ctx, controllerDeps),
    node: nodeHandlers(ctx, nodeDeps),
    cleanup: () => removeDir(dir),
  };
}

export interface RpcFailure {
  code: status;
  details: string;
}

/** Calls a unary handler with a fake call object; resolves to the response or rejects with `{ code, details }`. */
export function invoke<Req, Res>(handler: handleUnaryCall<Req, Res>, request: Req): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = { request } as ServerUnaryCall<Req, Res>;
    handler(call, (err, value) => {
      if (err) reject({ code: err.code, details: err.details } as RpcFailure);
      else resolve(value as Res);
    });
  });
}

/** Asserts a call fails with exactly this status (compared by name so a failure reads "NOT_FOUND" vs "ABORTED"). */
export async function expectCode(promise: Promise<unknown>, code: status): Promise<RpcFailure> {
  let failure: RpcFailure | undefined;
  try {
    await promise;
  } catch (err) {
    failure = err as RpcFailure;
  }
  expect(failure, `expected ${status[code]}, but the call succeeded`).toBeDefined();
  expect(status[failure!.code]).toBe(status[code]);
  return failure!;
}

type Mode = AccessMode | 'UNKNOWN';

export function mountCap(mode: Mode = 'SINGLE_NODE_WRITER', flags: string[] = []): VolumeCapability__Output {
  return { mount: { fs_type: '', mount_flags: flags, volume_mount_group: '' }, access_mode: { mode }, access_type: 'mount' };
}

export function blockCap(mode: Mode = 'SINGLE_NODE_WRITER'): VolumeCapability__Output {
  return { block: {}, access_mode: { mode }, access_type: 'block' };
}

export function range(required: bigint | number, limit: bigint | number = 0): CapacityRange__Output {
  return { required_bytes: String(required), limit_bytes: String(limit) };
}

export function topologyOf(nodeId: string): { segments: Record<string, string> } {
  return { segments: { [TOPOLOGY_KEY]: nodeId } };
}

export function createVolumeRequest(name: string, o: Partial<CreateVolumeRequest__Output> = {}): CreateVolumeRequest__Output {
  return {
    name,
    capacity_range: null,
    volume_capabilities: [mountCap()],
    parameters: {},
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: null,
    mutable_parameters: {},
    ...o,
  };
}

export function deleteVolumeRequest(volumeId: string) {
  return { volume_id: volumeId, secrets: {} };
}

export function controllerPublishRequest(volumeId: string, o: Partial<ControllerPublishVolumeRequest__Output> = {}): ControllerPublishVolumeRequest__Output {
  return { volume_id: volumeId, node_id: NODE_ID, volume_capability: mountCap(), readonly: false, secrets: {}, volume_context: {}, ...o };
}

export function controllerUnpublishRequest(volumeId: string, nodeId = NODE_ID) {
  return { volume_id: volumeId, node_id: nodeId, secrets: {} };
}

export function validateCapabilitiesRequest(volumeId: string, caps: VolumeCapability__Output[] = [mountCap()]): ValidateVolumeCapabilitiesRequest__Output {
  return { volume_id: volumeId, volume_context: {}, volume_capabilities: caps, parameters: {}, secrets: {}, mutable_parameters: {} };
}

export function listVolumesRequest(maxEntries = 0, startingToken = '') {
  return { max_entries: maxEntries, starting_token: startingToken };
}

export function getCapacityRequest(o: Partial<GetCapacityRequest__Output> = {}): GetCapacityRequest__Output {
  return { volume_capabilities: [], parameters: {}, accessible_topology: null, ...o };
}

export function expandVolumeRequest(volumeId: string, capacity: CapacityRange__Output | null): ControllerExpandVolumeRequest__Output {
  return { volume_id: volumeId, capacity_range: capacity, secrets: {}, volume_capability: mountCap() };
}

export function getVolumeRequest(volumeId: string) {
  return { volume_id: volumeId };
}

export function modifyVolumeRequest(volumeId: string, params: Record<string, string>) {
  return { volume_id: volumeId, secrets: {}, mutable_parameters: params };
}

export function stageRequest(volumeId: string, stagingPath: string, cap = mountCap()): NodeStageVolumeRequest__Output {
  return { volume_id: volumeId, publish_context: {}, staging_target_path: stagingPath, volume_capability: cap, secrets: {}, volume_context: {} };
}

export function unstageRequest(volumeId: string, stagingPath: string) {
  return { volume_id: volumeId, staging_target_path: stagingPath };
}

export function nodePublishRequest(
  volumeId: string,
  stagingPath: string,
  targetPath: string,
  o: Partial<NodePublishVolumeRequest__Output> = {},
): NodePublishVolumeRequest__Output {
  return {
    volume_id: volumeId,
    publish_context: {},
    staging_target_path: stagingPath,
    target_path: targetPath,
    volume_capability: mountCap(),
    readonly: false,
    secrets: {},
    volume_context: {},
    ...o,
  };
}

export function nodeUnpublishRequest(volumeId: string, targetPath: string) {
  return { volume_id: volumeId, target_path: targetPath };
}

export function volumeStatsRequest(volumeId: string, volumePath: string) {
  return { volume_id: volumeId, volume_path: volumePath, staging_target_path: '' };
}

export function nodeExpandRequest(volumeId: string, volumePath: string, capacity: CapacityRange__Output | null = null): NodeExpandVolumeRequest__Output {
  return { volume_id: volumeId, volume_path: volumePath, capacity_range: capacity, staging_target_path: '', volume_capability: mountCap(), secrets: {} };
}

/** Creates a volume through the controller handler and returns its ID. */
export async function createVolumeId(driver: TestDriver, name: string, bytes: bigint | null = null): Promise<string> {
  const res = await invoke(driver.controller.CreateVolume, createVolumeRequest(name, { capacity_range: bytes === null ? null : range(bytes) }));
  return res.volume!.volume_id!;
}

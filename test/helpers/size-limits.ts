/** Helpers for the size-limit tests: host filesystems with project quotas, filling a volume, expanding it. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { NodeGetVolumeStatsResponse__Output } from '../../src/generated/csi/v1/NodeGetVolumeStatsResponse';
import { call } from './csi-client';
import { loopsBacking, run, type ImageMount } from './data';
import { mountCapability, mountPoints, type DriverProcess } from './driver-process';

export type HostFs = 'ext4' | 'xfs-prjquota' | 'ext4-prjquota';

/** A sparse image of `bytes` made as `kind` and loop-mounted at `<dir>/mnt` (with prjquota for the quota kinds). */
export async function mountHostFs(dir: string, kind: HostFs, bytes: number): Promise<ImageMount> {
  const image = path.join(dir, `${kind}.img`);
  const mountPoint = path.join(dir, 'mnt');
  const handle = await open(image, 'w');
  await handle.truncate(bytes).finally(() => handle.close());
  if (kind === 'xfs-prjquota') await run('mkfs.xfs', ['-q', '-f', image]);
  else if (kind === 'ext4-prjquota') await run('mkfs.ext4', ['-F', '-q', '-O', 'quota,project', image]);
  else await run('mkfs.ext4', ['-F', '-q', image]);
  await mkdir(mountPoint, { recursive: true });
  const options = kind === 'ext4' ? 'loop' : 'loop,prjquota';
  await run('mount', ['-o', options, '-t', kind.startsWith('xfs') ? 'xfs' : 'ext4', image, mountPoint]);
  return { image, mountPoint };
}

export async function unmountHostFs(m: ImageMount): Promise<void> {
  if ((await mountPoints()).includes(m.mountPoint)) await run('umount', [m.mountPoint]);
  for (const dev of await loopsBacking(m.image)) await run('losetup', ['--detach', dev]);
}

/**
 * Whether this kernel can mount `kind` with prjquota at all (CONFIG_XFS_QUOTA; CONFIG_QUOTA with CONFIG_QFMT_V2).
 * Synchronous because test files decide what to skip while they are collected; `mount -o loop` sets autoclear, so
 * unmounting frees the loop device.
 */
export function canMountProjectQuota(kind: Exclude<HostFs, 'ext4'>): boolean {
  const dir = mkdtempSync('/tmp/hpcsi-it-quota-probe-');
  const image = path.join(dir, 'probe.img');
  const mnt = path.join(dir, 'mnt');
  const sh = (cmd: string, args: string[]): void => void execFileSync(cmd, args, { stdio: 'ignore', timeout: 60_000 });
  try {
    sh('truncate', ['-s', '512M', image]);
    sh(kind === 'xfs-prjquota' ? 'mkfs.xfs' : 'mkfs.ext4', kind === 'xfs-prjquota' ? ['-q', '-f', image] : ['-F', '-q', '-O', 'quota,project', image]);
    sh('mkdir', [mnt]);
    sh('mount', ['-o', 'loop,prjquota', '-t', kind === 'xfs-prjquota' ? 'xfs' : 'ext4', image, mnt]);
    sh('umount', [mnt]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CAP_SYS_RESOURCE (bit 24) is what ext4's online resize (EXT4_IOC_RESIZE_FS) asks for. */
export function hasCapSysResource(): boolean {
  const status = readFileSync('/proc/self/status', 'utf8');
  const eff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n;
}

export interface FillResult {
  written: number;
  error: string;
}

/**
 * Writes zeros into `file` until a write fails, as a process without capabilities (root with CAP_SYS_RESOURCE may
 * pass quotas and reserved blocks, a pod may not); resolves with what was written and why it stopped.
 */
export function fillUntilFull(file: string): Promise<FillResult> {
  return new Promise((resolve) => {
    const args = ['--bounding-set', '-all', '--inh-caps', '-all', '--', 'dd', 'if=/dev/zero', `of=${file}`, 'bs=1M', 'oflag=append', 'conv=notrunc'];
    execFile('setpriv', args, { timeout: 120_000 }, (err, _stdout, stderr) => {
      void stat(file).then((s) => resolve({ written: s.size, error: err ? stderr : 'dd ended without an error' }));
    });
  });
}

export const writeFailedForSpace = (error: string): boolean => /No space left on device|Disk quota exceeded/.test(error);

export interface SizedVolume {
  volumeId: string;
  capacity: number;
}

export async function createSizedVolume(driver: DriverProcess, name: string, bytes: number, parameters: Record<string, string>): Promise<SizedVolume> {
  const c = driver.clients.controller;
  const res = await call(c.CreateVolume.bind(c), {
    name,
    capacity_range: { required_bytes: String(bytes) },
    volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')],
    parameters,
  });
  return { volumeId: res.volume!.volume_id, capacity: Number(res.volume!.capacity_bytes) };
}

/**
 * Grows a published volume the way Kubernetes would: ControllerExpandVolume then, if asked for, NodeExpandVolume;
 * or with node-driven expansion NodeExpandVolume alone. Resolves with the capacity the node reported.
 */
export async function expandPublished(driver: DriverProcess, volumeId: string, targetPath: string, bytes: number, nodeDriven: boolean): Promise<number> {
  const range = { required_bytes: String(bytes) };
  let nodeNeeded = true;
  if (!nodeDriven) {
    const c = driver.clients.controller;
    nodeNeeded = (await call(c.ControllerExpandVolume.bind(c), { volume_id: volumeId, capacity_range: range })).node_expansion_required;
  }
  if (!nodeNeeded) return bytes;
  const n = driver.clients.node;
  const res = await call(n.NodeExpandVolume.bind(n), { volume_id: volumeId, volume_path: targetPath, capacity_range: range, volume_capability: mountCapability('SINGLE_NODE_WRITER') });
  return Number(res.capacity_bytes);
}

export interface BytesStats {
  total: number;
  used: number;
  available: number;
}

export async function byteStats(driver: DriverProcess, volumeId: string, volumePath: string): Promise<BytesStats> {
  const n = driver.clients.node;
  const res: NodeGetVolumeStatsResponse__Output = await call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: volumePath });
  const bytes = res.usage.find((u) => u.unit === 'BYTES')!;
  return { total: Number(bytes.total), used: Number(bytes.used), available: Number(bytes.available) };
}

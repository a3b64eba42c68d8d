import { SystemBlockMaps, type BlockMaps } from './block-map';
import { CpTreeCopier, type TreeCopier } from './copy';
import { systemDeviceOf, type DeviceOf } from './device';
import type { CommandRunner } from './exec';
import { SystemFilesystems, type Filesystems } from './filesystem';
import { systemStatFs, type StatFs } from './fs-stats';
import { SystemLoopDevices, type LoopDevices } from './loop';
import { SystemMounter, type Mounter } from './mount';
import { SystemHealthProbe, type HealthProbe } from './health-probe';
import { systemHostFs, type HostFs } from './host-fs';
import { XfsQuotaTool, type ProjectQuotas } from './project-quota';

/** The host as the driver sees it: every tool behind an interface (src/os), real in production, fakes in unit tests. */
export interface Host {
  /** The filesystem calls the domain makes (src/os/host-fs.ts); nothing outside src/os imports node:fs for them. */
  readonly fs: HostFs;
  readonly statFs: StatFs;
  readonly deviceOf: DeviceOf;
  readonly copier: TreeCopier;
  readonly loops: LoopDevices;
  readonly mounter: Mounter;
  readonly filesystems: Filesystems;
  readonly projectQuotas: ProjectQuotas;
  /** What the health checks read from the host (src/volumes/health.ts, src/node/health.ts). */
  readonly healthProbe: HealthProbe;
  /** Data ranges and extent maps of snapshot images (the SnapshotMetadata service). */
  readonly blockMaps: BlockMaps;
}

/** The real host, every child process started through `runCommand` (so it carries the driver's mark). */
export function systemHost(runCommand: CommandRunner): Host {
  return {
    fs: systemHostFs,
    statFs: systemStatFs,
    deviceOf: systemDeviceOf,
    copier: new CpTreeCopier(runCommand),
    loops: new SystemLoopDevices(runCommand),
    mounter: new SystemMounter(runCommand),
    filesystems: new SystemFilesystems(runCommand),
    projectQuotas: new XfsQuotaTool(runCommand),
    healthProbe: new SystemHealthProbe(),
    blockMaps: new SystemBlockMaps(),
  };
}

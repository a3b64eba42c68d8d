import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import path from 'node:path';
import type { VolumeCapability, _csi_v1_VolumeCapability_AccessMode_Mode as AccessMode } from '../../src/generated/csi/v1/VolumeCapability';
import { call, connectCsi, type CsiClients } from './csi-client';
import { cleanupDir, mountPoints, mountPointsUnder } from '../../support/host-cleanup';

export { cleanupDir, mountPoints, mountPointsUnder } from '../../support/host-cleanup';

/** Real bind mounts need root; tests that mount are skipped elsewhere (and say why in their title). */
export const isRoot = process.getuid?.() === 0;
export const NEEDS_ROOT = isRoot ? '' : ' [SKIPPED: needs root for real bind mounts]';

const MAIN_JS = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
/** test/vm/ raises it: a driver starts in about 3 s under qemu's software emulation, and later under load. */
const READY_TIMEOUT_MS = Number(process.env.HOSTPATH_CSI_TEST_READY_MS) || 10_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DriverOptions {
  /** Directory the driver runs in (its cwd); relative paths a bug might create land here. */
  root: string;
  socketPath?: string;
  stateDir?: string;
  nodeId?: string;
  mode?: 'controller' | 'node' | 'all';
  logLevel?: string;
  /**
   * Run the driver in a process group of its own, so that kill() also kills the children it was running (cp,
   * losetup, mount), as a container runtime or systemd does when the driver's container or unit dies.
   */
  ownProcessGroup?: boolean;
  /** --allowed-path-root; default `root`. */
  allowedPathRoot?: string;
  extraArgs?: readonly string[];
}

/** A driver child process, its typed clients, and everything it wrote to stderr. */
export class DriverProcess {
  private stderrText = '';
  private clientsCache: CsiClients | null = null;
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;

  constructor(
    readonly proc: ChildProcess,
    readonly socketPath: string,
    readonly stateDir: string,
    readonly nodeId: string,
    private readonly ownProcessGroup = false,
  ) {
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => (this.stderrText += chunk));
    proc.stdout!.resume();
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': it fires once stderr is drained, so the captured log is complete.
      proc.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  get clients(): CsiClients {
    this.clientsCache ??= connectCsi(this.socketPath);
    return this.clientsCache;
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  logLines(): Record<string, unknown>[] {
    return this.stderrText
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async probeReady(): Promise<boolean> {
    const id = this.clients.identity;
    const res = await call(id.Probe.bind(id), {});
    return res.ready?.value === true;
  }

  /** Polls Probe until it answers ready=true; fails early (with the driver's stderr) if the process exits. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`driver exited (${JSON.stringify(this.exit)}) before ready:\n${this.stderr}`);
      // Before the socket exists a connect would fail and grpc-js would back off for a second: wait for the file.
      if (await exists(this.socketPath)) {
        const ready = await this.probeReady().catch(() => {
          // A failed channel also backs off before reconnecting: start the next poll on a fresh one.
          this.closeClients();
          return false;
        });
        if (ready) return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`driver not ready after ${timeoutMs} ms:\n${this.stderr}`);
  }

  private closeClients(): void {
    this.clientsCache?.close();
    this.clientsCache = null;
  }

  /** SIGTERM and wait for exit; a driver that has not exited after `graceMs` is SIGKILLed (and so reports no code). */
  async stop(graceMs = 10_000): Promise<Exit> {
    this.closeClients();
    if (!this.exit) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGKILL of the main process alone, even with ownProcessGroup: its children are left to themselves, as when only
   * the main process dies (an OOM kill, `kill -9 <pid>`). Their process group is still `proc.pid`.
   */
  async killMainOnly(): Promise<Exit> {
    this.closeClients();
    if (!this.exit) this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** SIGKILL and wait for exit: a crash, nothing cleaned up (with ownProcessGroup, its children die with it). */
  async kill(): Promise<Exit> {
    this.closeClients();
    if (!this.exit) {
      if (this.ownProcessGroup && this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGKILL');
      else this.proc.kill('SIGKILL');
    }
    return this.exited;
  }
}

export function driverArgs(opts: DriverOptions): { args: string[]; socketPath: string; stateDir: string; nodeId: string } {
  const socketPath = opts.socketPath ?? path.join(opts.root, 'csi.sock');
  const stateDir = opts.stateDir ?? path.join(opts.root, 'state');
  const nodeId = opts.nodeId ?? 'integration-node';
  const args = [
    `--endpoint=unix://${socketPath}`,
    `--state-dir=${stateDir}`,
    `--node-id=${nodeId}`,
    `--mode=${opts.mode ?? 'all'}`,
    `--log-level=${opts.logLevel ?? 'debug'}`,
    // Tests put their target and staging paths under their own temp dir, which stands in for kubelet's directory.
    `--allowed-path-root=${opts.allowedPathRoot ?? opts.root}`,
    ...(opts.extraArgs ?? []),
  ];
  return { args, socketPath, stateDir, nodeId };
}

function assertBuilt(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` before the integration tests`);
}

/** Spawns the driver without waiting for it (for tests of start-up failures). */
export function spawnDriver(opts: DriverOptions): DriverProcess {
  assertBuilt();
  const { args, socketPath, stateDir, nodeId } = driverArgs(opts);
  const proc = spawn(process.execPath, [MAIN_JS, ...args], { cwd: opts.root, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.ownProcessGroup === true });
  return new DriverProcess(proc, socketPath, stateDir, nodeId, opts.ownProcessGroup === true);
}

/** Spawns the driver and waits until Probe says ready. */
export async function startDriver(opts: DriverOptions): Promise<DriverProcess> {
  const driver = spawnDriver(opts);
  try {
    await driver.waitReady();
  } catch (err) {
    await driver.kill();
    throw err;
  }
  return driver;
}

/** Runs the driver with raw argv until it exits by itself (bad flags, --help). */
export function runDriverToExit(argv: readonly string[], cwd: string, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN_JS, ...argv], { cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** A filesystem capability in the given access mode. */
export function mountCapability(mode: AccessMode = 'SINGLE_NODE_MULTI_WRITER'): VolumeCapability {
  return { access_mode: { mode }, mount: { fs_type: '', mount_flags: [] } };
}

export async function isMountPoint(p: string): Promise<boolean> {
  return (await mountPoints()).includes(p);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}


/**
 * Owns a test file's temp dirs and drivers. dispose() kills drivers still running, reports mounts left under the
 * temp dirs, cleans everything up, and reports temp dirs that still exist, so afterAll can assert both are empty.
 */
export class Scratch {
  private readonly dirs: string[] = [];
  private readonly drivers: DriverProcess[] = [];

  async dir(): Promise<string> {
    const d = await mkdtemp('/tmp/hpcsi-it-');
    this.dirs.push(d);
    return d;
  }

  track(driver: DriverProcess): DriverProcess {
    this.drivers.push(driver);
    return driver;
  }

  async start(opts: DriverOptions): Promise<DriverProcess> {
    return this.track(await startDriver(opts));
  }

  spawn(opts: DriverOptions): DriverProcess {
    return this.track(spawnDriver(opts));
  }

  async dispose(): Promise<{ leftMounts: string[]; leftDirs: string[] }> {
    await Promise.all(this.drivers.map((d) => d.kill()));
    const leftMounts: string[] = [];
    for (const d of this.dirs) leftMounts.push(...(await mountPointsUnder(d)));
    for (const d of this.dirs) await cleanupDir(d);
    const leftDirs: string[] = [];
    for (const d of this.dirs) if (await exists(d)) leftDirs.push(d);
    return { leftMounts, leftDirs };
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { terminateChild } from '../support/child-process';
import { call, connectCsi, type CsiClients } from '../support/csi-client';

/**
 * A CSI driver the bench can start: this tree's build ("ours"), another build of ours ("baseline", e.g. the commit
 * before a fix), or the upstream Go reference driver ("reference"). Each is only a command line: the bench talks to
 * all of them through the same CSI client.
 */
export interface DriverSpec {
  label: string;
  kind: 'ours' | 'baseline' | 'reference';
  /** dist/bundle/main.js (or dist/main.js of older builds) for ours/baseline, the hostpathplugin binary for the reference. */
  bin: string;
  /** The build has --allowed-path-root (staging and target paths must be under it; builds before it do not). */
  allowedPathRoot?: boolean;
}

export const BENCH_NODE_ID = 'bench-node';

function argvFor(spec: DriverSpec, socket: string, stateDir: string): [string, string[]] {
  if (spec.kind === 'reference') {
    // Flags of cmd/hostpathplugin: everything under --statedir (state.json and the volumes), attach on so the
    // lifecycle scenario can ControllerPublish; glog at its default verbosity.
    return [spec.bin, [`--endpoint=unix://${socket}`, `--nodeid=${BENCH_NODE_ID}`, `--statedir=${stateDir}`, '--drivername=hostpath.csi.k8s.io', '--enable-attach=true']];
  }
  // Ours at its shipped defaults (log level info: one line per RPC), like a deployment; the run's directory stands
  // in for kubelet's, so staging and target paths are allowed under it.
  const root = spec.allowedPathRoot ? [`--allowed-path-root=${path.dirname(socket)}`] : [];
  return [process.execPath, [spec.bin, `--endpoint=unix://${socket}`, `--state-dir=${stateDir}`, `--node-id=${BENCH_NODE_ID}`, ...root]];
}

/**
 * The NODE_OPTIONS the image starts the driver with (the Dockerfile's `ENV NODE_OPTIONS=`), so ours is measured as it
 * ships; scripts/run.sh passes the same flags (test/unit/bench/node-options.test.ts checks they agree).
 */
export function imageNodeOptions(dockerfile = readFileSync(path.join(__dirname, '..', 'Dockerfile'), 'utf8')): string {
  return /^ENV NODE_OPTIONS=(\S+(?: \S+)*)$/m.exec(dockerfile)?.[1]?.replace(/^"|"$/g, '') ?? '';
}

export interface StartTimes {
  /** spawn → socket file present (ms). */
  socketMs: number;
  /** spawn → first Probe that answered ready (ms). */
  readyMs: number;
}

/** Every driver started and not yet stopped: an interrupted bench stops them all before it cleans up. */
const live = new Set<RunningDriver>();

export async function stopAllDrivers(): Promise<void> {
  await Promise.all([...live].map((d) => d.stop()));
}

/** A started driver: its process, clients, and what /proc says about its memory. */
export class RunningDriver {
  private clientsCache: CsiClients | null = null;
  private exitedWith: string | null = null;

  constructor(
    readonly spec: DriverSpec,
    readonly proc: ChildProcess,
    readonly socket: string,
    readonly stateDir: string,
  ) {
    live.add(this);
    proc.once('exit', (code, signal) => {
      this.exitedWith = `code ${code} signal ${signal}`;
      live.delete(this);
    });
  }

  get clients(): CsiClients {
    this.clientsCache ??= connectCsi(this.socket);
    return this.clientsCache;
  }

  resetClients(): void {
    this.clientsCache?.close();
    this.clientsCache = null;
  }

  get exited(): string | null {
    return this.exitedWith;
  }

  /**
   * Resident set size now and at its peak (VmHWM), in MiB, and what it is made of now: anonymous memory (heaps,
   * stacks: the process's own) and file-backed pages (mostly the runtime's executable text, which every process
   * running the same binary shares and the kernel can drop and read again).
   */
  async memory(): Promise<{ rssMiB: number; peakMiB: number; anonMiB: number; fileMiB: number }> {
    const text = await readFile(`/proc/${this.proc.pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024, anonMiB: kib('RssAnon') / 1024, fileMiB: kib('RssFile') / 1024 };
  }

  /** CPU time the driver process has used so far (user + system), in ms; from /proc (clock ticks of 10 ms). */
  async cpuMs(): Promise<number> {
    const stat = await readFile(`/proc/${this.proc.pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  async stop(): Promise<void> {
    this.resetClients();
    if (this.exitedWith !== null) return;
    await terminateChild(this.proc);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function present(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Starts a driver with a fresh socket in `workDir` and its state in `stateDir`, and times it: spawn → socket →
 * first ready Probe. The socket is polled every millisecond and Probe every 2 ms (no gRPC reconnect back-off: the
 * client connects only once the socket exists, and a failed channel is replaced).
 */
export async function startDriver(spec: DriverSpec, workDir: string, stateDir: string, timeoutMs = 60_000): Promise<{ driver: RunningDriver; times: StartTimes }> {
  await mkdir(stateDir, { recursive: true });
  const socket = path.join(workDir, `${spec.label}.sock`);
  const logFd = openSync(path.join(workDir, `${spec.label}.log`), 'a');
  const [file, args] = argvFor(spec, socket, stateDir);
  const started = process.hrtime.bigint();
  // BENCH_DRIVER_NODE_OPTIONS adds flags to ours only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a scenario.
  const extra = process.env.BENCH_DRIVER_NODE_OPTIONS ?? '';
  const env = spec.kind === 'reference' ? process.env : { ...process.env, NODE_OPTIONS: `${imageNodeOptions()} ${extra}`.trim() };
  const proc = spawn(file, args, { stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const driver = new RunningDriver(spec, proc, socket, stateDir);
  const since = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  const deadline = Date.now() + timeoutMs;
  let socketMs = NaN;
  while (Date.now() < deadline && driver.exited === null) {
    if (Number.isNaN(socketMs)) {
      if (await present(socket)) socketMs = since();
      else {
        await sleep(1);
        continue;
      }
    }
    if (await probeReady(driver)) return { driver, times: { socketMs, readyMs: since() } };
    await sleep(2);
  }
  await driver.stop();
  throw new Error(`${spec.label} did not become ready (${driver.exited ?? `timeout ${timeoutMs} ms`}); see ${workDir}/${spec.label}.log`);
}

/** CSI spec, Probe: an absent `ready` means ready. */
export async function probeReady(driver: RunningDriver): Promise<boolean> {
  try {
    const id = driver.clients.identity;
    const res = await call(id.Probe.bind(id), {});
    return res.ready === null || res.ready === undefined || res.ready.value === true;
  } catch {
    // A failed channel backs off before reconnecting: the next poll gets a fresh one.
    driver.resetClients();
    return false;
  }
}

import { spawnDriver, type DriverProcess } from '../helpers/driver-process';
import type { Intent } from './intents';
import { connectCsi, RETRIABLE, send, type Answer, type CsiClients } from './rpc';
import { keepLog } from './summary';

export interface SessionOptions {
  root: string;
  stateDir: string;
  kubeletDir: string;
  nodeId: string;
  part: string;
  extraArgs?: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counters every part of the harness reports. */
export interface RetryStats {
  retriedCalls: number;
  retriedIntents: number;
  retryCodes: Record<string, number>;
}

/**
 * The driver under test as a node sees it: one process at a time on a fixed socket and state dir, killed with
 * SIGKILL (its whole process group) and started again. Every process's log is kept for the secret and
 * post-mortem checks.
 */
export class DriverSession {
  driver: DriverProcess | null = null;
  clients: CsiClients | null = null;
  readonly restartMs: number[] = [];
  logBytes = 0;
  secretHits = 0;
  starts = 0;

  constructor(
    private readonly opts: SessionOptions,
    private readonly secret: string,
  ) {}

  private spawn(): DriverProcess {
    this.starts++;
    return spawnDriver({
      root: this.opts.root,
      stateDir: this.opts.stateDir,
      nodeId: this.opts.nodeId,
      allowedPathRoot: this.opts.kubeletDir,
      ownProcessGroup: true,
      logLevel: 'debug',
      extraArgs: ['--mutable-parameters=iops', ...(this.opts.extraArgs ?? [])],
    });
  }

  /** Starts the driver and waits for Probe ready; with `killDuringStartAfterMs`, first kills one mid-start-up. */
  async start(killDuringStartAfterMs: number | null = null): Promise<void> {
    const started = Date.now();
    if (killDuringStartAfterMs !== null) {
      const early = this.spawn();
      await sleep(killDuringStartAfterMs);
      await early.kill();
      await this.collect(early);
    }
    const driver = this.spawn();
    // HOSTPATH_CSI_TEST_READY_MS: under the test VM's emulation on a loaded host a restart has taken up to 30 s.
    await driver.waitReady(Math.max(30_000, Number(process.env['HOSTPATH_CSI_TEST_READY_MS']) || 0));
    this.restartMs.push(Date.now() - started);
    this.driver = driver;
    this.clients = connectCsi(driver.socketPath);
  }

  /**
   * SIGKILL of the driver's whole process group, or (mainOnly) of its main process alone; then the process group
   * the children were in is returned, so the caller can check none of them outlived the driver.
   */
  async crash(mainOnly = false): Promise<number | null> {
    const driver = this.driver;
    if (!driver) return null;
    this.clients?.close();
    this.clients = null;
    this.driver = null;
    if (mainOnly) await driver.killMainOnly();
    else await driver.kill();
    await this.collect(driver);
    return driver.proc.pid ?? null;
  }

  async stop(): Promise<void> {
    const driver = this.driver;
    if (!driver) return;
    this.clients?.close();
    this.clients = null;
    this.driver = null;
    const exit = await driver.stop();
    await this.collect(driver);
    if (exit.code !== 0) throw new Error(`driver exited ${JSON.stringify(exit)} on SIGTERM`);
  }

  private async collect(driver: DriverProcess): Promise<void> {
    const text = driver.stderr;
    this.logBytes += text.length;
    this.secretHits += text.split(this.secret).length - 1;
    await keepLog(this.opts.part, text);
  }

  alive(): boolean {
    return this.driver !== null && this.driver.exit === null;
  }

  call(intent: Intent): Promise<Answer> {
    if (!this.clients) throw new Error('driver is not running');
    return send(this.clients, intent.service, intent.rpc, intent.request);
  }

  /**
   * Sends every intent until the driver gives a final answer, as the sidecars and kubelet do: the same request again
   * after UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED or ABORTED. Returns each intent's final answer.
   */
  async settle(intents: readonly Intent[], stats: RetryStats, maxAttempts = 400): Promise<Map<Intent, Answer>> {
    const final = new Map<Intent, Answer>();
    let open = [...intents];
    for (let attempt = 0; open.length > 0; attempt++) {
      if (attempt >= maxAttempts) throw new Error(`no final answer after ${maxAttempts} attempts: ${open.map((i) => i.what).join('; ')}`);
      if (attempt > 0) await sleep(Math.min(200, 10 * attempt));
      const answers = await Promise.all(open.map((i) => this.call(i)));
      stats.retriedCalls += open.length;
      const next: Intent[] = [];
      answers.forEach((a, idx) => {
        const intent = open[idx]!;
        if (!a.ok && RETRIABLE.has(a.code)) {
          stats.retryCodes[String(a.code)] = (stats.retryCodes[String(a.code)] ?? 0) + 1;
          next.push(intent);
        } else final.set(intent, a);
      });
      open = next;
    }
    stats.retriedIntents += intents.length;
    return final;
  }
}

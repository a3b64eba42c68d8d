import { cleanupDir } from '../../support/host-cleanup';
import { startDriver, type DriverSpec, type RunningDriver } from '../drivers';
import type { Recorder } from '../recorder';
import { summarize, type Summary } from '../stats';
import type { RunResult } from '../scenario';

/** Starts a driver on `stateDir`, runs `fn`, and always stops it; `dir` holds its socket and log. */
export async function withDriver<T>(spec: DriverSpec, dir: string, stateDir: string, fn: (d: RunningDriver) => Promise<T>): Promise<T> {
  const { driver } = await startDriver(spec, dir, stateDir);
  try {
    return await fn(driver);
  } finally {
    await driver.stop();
  }
}

export function latencySummaries(rec: Recorder): Record<string, Summary> {
  return Object.fromEntries([...rec.latencies].map(([method, samples]) => [method, summarize(samples)]));
}

export function result(rec: Recorder, figures: Record<string, number>, notes: string[] = []): RunResult {
  return { figures, latencies: latencySummaries(rec), failures: rec.failures, calls: rec.calls, notes };
}

/** Removes a run's directory, unmounting first whatever a driver left mounted under it. */
export async function removeRunDir(dir: string): Promise<void> {
  await cleanupDir(dir);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Names of the volumes a scenario makes only to have a populated state directory. */
export const VOLUME_SEED_PREFIX = 'seed';

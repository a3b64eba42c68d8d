import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { Failure } from './recorder';
import type { Summary } from './stats';
import type { DriverSpec } from './drivers';

/** What one run of one scenario on one driver produced. */
export interface RunResult {
  /** Named figures of this run (ops/s, ms, MiB); NaN when the driver could not do it (see notes). */
  figures: Record<string, number>;
  /** Per-RPC latency summaries (ms) of calls that succeeded with a valid answer. */
  latencies: Record<string, Summary>;
  failures: Failure[];
  calls: number;
  notes: string[];
}

export interface Sizes {
  pairs: number;
  startupRuns: number;
  /** Start-up on a state directory holding this many volumes (made at concurrency c). */
  startupState: { volumes: number; c: number };
  createDelete: { n: number; c: number };
  lifecycle: { n: number; c: number };
  snapshot: { mib: number; smallFiles: number };
  list: { n: number; page: number };
  /** ns for ours; referenceNs for the reference, whose every create rewrites its whole state.json (50,000 would take hours). */
  scale: { ns: number[]; referenceNs: number[]; probeOps: number; c: number };
  probeCopy: { mib: number };
}

export const FULL: Sizes = {
  pairs: 3,
  startupRuns: 5,
  startupState: { volumes: 10_000, c: 32 },
  createDelete: { n: 2000, c: 32 },
  lifecycle: { n: 200, c: 16 },
  snapshot: { mib: 256, smallFiles: 1000 },
  list: { n: 5000, page: 100 },
  scale: { ns: [1000, 10_000, 50_000], referenceNs: [1000, 10_000], probeOps: 1000, c: 32 },
  probeCopy: { mib: 1024 },
};

/** Tiny sizes for CI: every scenario and the report run end to end in seconds; the figures mean nothing. */
export const SMOKE: Sizes = {
  pairs: 1,
  startupRuns: 1,
  startupState: { volumes: 30, c: 4 },
  createDelete: { n: 20, c: 4 },
  lifecycle: { n: 4, c: 2 },
  snapshot: { mib: 2, smallFiles: 10 },
  list: { n: 150, page: 100 },
  scale: { ns: [50, 100], referenceNs: [50, 100], probeOps: 20, c: 4 },
  probeCopy: { mib: 8 },
};

export interface ScenarioContext {
  sizes: Sizes;
  /** The bench's own scratch root (every temp dir, socket, image and mount is under it). */
  root: string;
  /** Whether real mounts and loop devices can be made (root). */
  canMount: boolean;
  log(message: string): void;
}

export interface Scenario {
  name: string;
  /** Makes real mounts or loop devices, so it needs root (skipped, and said so, without it). */
  needsMount?: boolean;
  /** Runs once on one driver, starting it on fresh state and stopping it before returning. */
  run(spec: DriverSpec, ctx: ScenarioContext): Promise<RunResult>;
}

export async function runDir(ctx: ScenarioContext, scenario: string, spec: DriverSpec): Promise<string> {
  return mkdtemp(path.join(ctx.root, `${scenario}-${spec.label}-`));
}

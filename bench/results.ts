import type { MachineFacts } from './machine';
import type { RunResult, Sizes } from './scenario';

export interface SideInfo {
  label: string;
  kind: 'ours' | 'baseline' | 'reference';
  bin: string;
  /** What this side is, for the report ("this tree", "v1.17.0", "commit abc1234 (before the fixes)"). */
  description: string;
  allowedPathRoot?: boolean;
}

export interface ScenarioResults {
  name: string;
  /** Runs per side label, in the order they ran (pair 1, pair 2, ...). */
  runs: Record<string, RunResult[]>;
  /** Load average (1 min) before each run, in run order: how noisy the machine was. */
  loadBefore: number[];
  skipped?: string;
}

export interface BenchResults {
  smoke: boolean;
  startedAt: string;
  durationS: number;
  machine: MachineFacts;
  sizes: Sizes;
  sides: SideInfo[];
  /** Drivers the bench could not run, and why (e.g. the reference driver could not be installed). */
  unavailable: { label: string; why: string }[];
  scenarios: ScenarioResults[];
}

/** Every run's value of one figure for one side. */
export function figureRuns(s: ScenarioResults | undefined, label: string, figure: string): number[] {
  return (s?.runs[label] ?? []).map((r) => r.figures[figure] ?? NaN);
}

export function totalFailures(s: ScenarioResults, label: string): number {
  return (s.runs[label] ?? []).reduce((n, r) => n + r.failures.length, 0);
}

export function totalCalls(s: ScenarioResults, label: string): number {
  return (s.runs[label] ?? []).reduce((n, r) => n + r.calls, 0);
}

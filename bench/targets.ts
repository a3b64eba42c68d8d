import { figureRuns, type BenchResults, type ScenarioResults } from './results';
import { median, range } from './stats';

/** One target of issue 15 (performance against the upstream driver), evaluated on one run of the bench. */
export interface TargetRow {
  target: string;
  /** A label short enough for the chart. */
  short: string;
  /** The measured figure, e.g. "2.4× (ours 900 ops/s, reference 375 ops/s)". */
  measured: string;
  verdict: 'met' | 'missed' | 'not measured';
  /** measured / goal, oriented so that ≥ 1 means met (for the chart); NaN when not measured. */
  score: number;
  /** How far from the goal, or why it was not measured. */
  detail: string;
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function scenario(b: BenchResults, name: string): ScenarioResults | undefined {
  return b.scenarios.find((s) => s.name === name && !s.skipped);
}

function verdictOf(score: number): TargetRow['verdict'] {
  if (!Number.isFinite(score)) return 'not measured';
  return score >= 1 ? 'met' : 'missed';
}

function missedBy(score: number): string {
  if (!Number.isFinite(score)) return '';
  return score >= 1 ? `${fmt((score - 1) * 100, 0)}% better than the goal` : `missed by ${fmt((1 / score - 1) * 100, 0)}%`;
}

/** ours/reference (higher is better) must reach `goal`. */
function ratioTarget(b: BenchResults, [target, short]: [string, string], scen: string, figure: string, goal: number, unit: string, lowerIsBetter = false): TargetRow {
  const s = scenario(b, scen);
  const ours = median(figureRuns(s, 'ours', figure));
  const ref = median(figureRuns(s, 'reference', figure));
  const ratio = lowerIsBetter ? ref / ours : ours / ref;
  const why = !s ? 'scenario not run' : !b.sides.some((x) => x.label === 'reference') ? 'reference driver unavailable on this machine' : 'the reference could not do it';
  const measured = `${fmt(ratio, 2)}× (ours ${fmt(ours)} ${unit}, reference ${fmt(ref)} ${unit})`;
  const score = ratio / goal;
  return { target, short, measured: Number.isFinite(ratio) ? measured : `ours ${fmt(ours)} ${unit}`, verdict: verdictOf(score), score, detail: Number.isFinite(score) ? missedBy(score) : why };
}

/** An absolute bound on ours (lower is better). */
function boundTarget([target, short]: [string, string], values: number[], bound: number, unit: string, pick: 'median' | 'max'): TargetRow {
  const v = pick === 'median' ? median(values) : range(values)[1];
  const [lo, hi] = range(values);
  const score = bound / v;
  return {
    target,
    short,
    measured: `${fmt(v)} ${unit}${values.length > 1 ? ` (${pick}; runs ${fmt(lo)}–${fmt(hi)})` : ''}`,
    verdict: verdictOf(score),
    score,
    detail: Number.isFinite(score) ? missedBy(score) : 'scenario not run',
  };
}

function scaleTarget(b: BenchResults): TargetRow {
  const s = scenario(b, 'scale');
  const ns = b.sizes.scale.ns;
  const lo = ns[0]!;
  const hi = ns[ns.length - 1]!;
  const costLo = median(figureRuns(s, 'ours', `costMs@${lo}`));
  const costHi = median(figureRuns(s, 'ours', `costMs@${hi}`));
  const growth = costHi / costLo;
  const score = 1.2 / growth;
  return {
    target: `scale: cost/op at N=${hi} within 1.2× of N=${lo}`,
    short: 'scale: cost/op growth',
    measured: `${fmt(growth, 2)}× (${fmt(costLo, 3)} → ${fmt(costHi, 3)} ms/op)`,
    verdict: verdictOf(score),
    score,
    detail: Number.isFinite(score) ? missedBy(score) : 'scenario not run',
  };
}

export function evaluateTargets(b: BenchResults): TargetRow[] {
  const cd = b.sizes.createDelete;
  const startup = scenario(b, 'startup');
  const createDelete = scenario(b, 'create-delete');
  return [
    ratioTarget(b, [`create-delete C=${cd.c} N=${cd.n}: ≥ 2.5× reference ops/s (ours fsynced)`, 'create-delete vs reference'], 'create-delete', 'opsPerSec', 2.5, 'ops/s'),
    scaleTarget(b),
    ratioTarget(b, [`lifecycle C=${b.sizes.lifecycle.c}: ≥ 1.5× reference volumes/s`, 'lifecycle vs reference'], 'lifecycle', 'volumesPerSec', 1.5, 'volumes/s'),
    ratioTarget(b, [`snapshot ${b.sizes.snapshot.mib} MiB, XFS reflink: ≥ 50× faster`, 'snapshot XFS vs reference'], 'snapshot-xfs-reflink', 'snapshotMs', 50, 'ms', true),
    ratioTarget(b, [`snapshot ${b.sizes.snapshot.mib} MiB, ext4: ≥ 10× faster`, 'snapshot ext4 vs reference'], 'snapshot-ext4', 'snapshotMs', 10, 'ms', true),
    boundTarget(['startup to first ready Probe ≤ 150 ms (empty state)', 'startup ≤ 150 ms'], figureRuns(startup, 'ours', 'readyMs'), 150, 'ms', 'median'),
    boundTarget([`startup to first ready Probe ≤ 1 s with ${b.sizes.startupState.volumes} volumes`, 'startup with state ≤ 1 s'], figureRuns(scenario(b, 'startup-state'), 'ours', 'readyMs'), 1000, 'ms', 'median'),
    boundTarget(['idle RSS ≤ 45 MiB', 'idle RSS ≤ 45 MiB'], figureRuns(startup, 'ours', 'idleRssMiB'), 45, 'MiB', 'max'),
    boundTarget(['peak RSS under create-delete load ≤ 80 MiB', 'peak RSS ≤ 80 MiB'], figureRuns(createDelete, 'ours', 'peakRssMiB'), 80, 'MiB', 'max'),
    boundTarget([`Probe p99 ≤ 2 ms during a ${b.sizes.probeCopy.mib} MiB snapshot copy`, 'Probe p99 during copy'], figureRuns(scenario(b, 'probe-during-copy'), 'ours', 'probeP99Ms'), 2, 'ms', 'median'),
    boundTarget([`Probe p99 ≤ 2 ms during a create storm (C=${cd.c})`, 'Probe p99 during creates'], figureRuns(createDelete, 'ours', 'probeP99Ms'), 2, 'ms', 'median'),
  ];
}

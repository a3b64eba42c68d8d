import { describe, expect, it } from 'vitest';
import { renderChart } from '../../../bench/chart';
import { analysisOf, ANALYSIS_MARK, renderReport } from '../../../bench/report';
import type { BenchResults } from '../../../bench/results';
import { SMOKE, type RunResult } from '../../../bench/scenario';
import { evaluateTargets } from '../../../bench/targets';

function run(figures: Record<string, number>, failures = 0): RunResult {
  return {
    figures,
    latencies: { CreateVolume: { n: 10, p50: 1, p95: 2, p99: 3, max: 4, mean: 1.5 } },
    failures: Array.from({ length: failures }, () => ({ method: 'ListVolumes', code: 'INVALID_ANSWER', message: 'paging broken' })),
    calls: 10,
    notes: [],
  };
}

function results(): BenchResults {
  const scaleFig = (lo: number, hi: number): Record<string, number> => ({ 'costMs@50': lo, 'costMs@100': hi });
  return {
    smoke: false,
    startedAt: '2025-01-01T00:00:00.000Z',
    durationS: 60,
    machine: { cpu: 'test cpu', cores: 2, memoryGiB: 24, kernel: '6.0', node: 'v20', go: 'go1.26', scratchFs: 'ext4 on /dev/vda', commit: 'abc test', loadAverageAtStart: [1, 1, 1] },
    sizes: SMOKE,
    sides: [
      { label: 'ours', kind: 'ours', bin: 'dist/main.js', description: 'this tree' },
      { label: 'reference', kind: 'reference', bin: 'hostpathplugin', description: 'upstream' },
    ],
    unavailable: [],
    scenarios: [
      { name: 'create-delete', loadBefore: [1, 1], runs: { ours: [run({ opsPerSec: 900, peakRssMiB: 100 })], reference: [run({ opsPerSec: 300 })] } },
      { name: 'scale', loadBefore: [1, 1], runs: { ours: [run(scaleFig(1, 2))], reference: [run(scaleFig(1, 9))] } },
      { name: 'list', loadBefore: [1, 1], runs: { ours: [run({ passMs: 10 })], reference: [run({ passMs: NaN }, 1)] } },
    ],
  };
}

describe('bench report', () => {
  it('meets a ratio target by its measured ratio and says by how much', () => {
    const row = evaluateTargets(results()).find((r) => r.target.startsWith('create-delete'))!;
    expect(row.verdict).toBe('met');
    expect(row.measured).toContain('3.00×');
    expect(row.detail).toBe('20% better than the goal');
  });

  it('misses the scale target when cost per op doubles, and says by how much', () => {
    const row = evaluateTargets(results()).find((r) => r.target.startsWith('scale'))!;
    expect(row.verdict).toBe('missed');
    expect(row.detail).toBe('missed by 67%');
  });

  it('reports a target with no runs as not measured, with the reason', () => {
    const row = evaluateTargets(results()).find((r) => r.target.startsWith('lifecycle'))!;
    expect(row.verdict).toBe('not measured');
    expect(row.detail).toBe('scenario not run');
  });

  it('counts failed calls per side in the scenario table', () => {
    const md = renderReport(results(), 'performance.svg');
    expect(md).toContain('| failed calls / calls | 0 / 10 | 1 / 10 |');
    expect(md).toContain('- reference: 1× ListVolumes INVALID_ANSWER (first: paging broken)');
  });

  it('keeps the hand-written analysis when the report is rewritten', () => {
    const first = renderReport(results(), 'performance.svg', '\nWhy the figures are what they are.\n');
    const again = renderReport(results(), 'performance.svg', analysisOf(first));
    expect(again).toBe(first);
    expect(again.slice(again.indexOf(ANALYSIS_MARK))).toContain('Why the figures are what they are.');
  });

  it('draws one polyline per driver on the scale panel, in an SVG document', () => {
    const svg = renderChart(results());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
  });
});

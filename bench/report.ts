import { figureRuns, totalCalls, totalFailures, type BenchResults, type ScenarioResults } from './results';
import { median, range } from './stats';
import { evaluateTargets } from './targets';

/** Everything after this line in an existing report is hand-written analysis: kept when the bench rewrites the file. */
export const ANALYSIS_MARK = '<!-- analysis: written by hand, kept when the bench rewrites this file -->';

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
};

function cell(values: number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 'n/a';
  const [lo, hi] = range(finite);
  return finite.length === 1 ? fmt(finite[0]!) : `${fmt(median(finite))} [${fmt(lo)}–${fmt(hi)}]`;
}

const UNITS: [RegExp, string][] = [
  [/PerSec/, 'per second, higher is better'],
  [/Ms(@|$)/, 'ms, lower is better'],
  [/MiB/, 'MiB'],
];

function unitOf(figure: string): string {
  return UNITS.find(([re]) => re.test(figure))?.[1] ?? '';
}

function figureNames(s: ScenarioResults): string[] {
  const names = new Set<string>();
  for (const runs of Object.values(s.runs)) for (const r of runs) for (const k of Object.keys(r.figures)) names.add(k);
  return [...names];
}

function scenarioTable(b: BenchResults, s: ScenarioResults): string[] {
  const others = b.sides.filter((x) => x.label !== 'ours');
  const head = ['figure', ...b.sides.map((x) => `${x.label}: median [range]`), ...others.map((x) => `ours/${x.label}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const f of figureNames(s)) {
    const cells = b.sides.map((x) => cell(figureRuns(s, x.label, f)));
    const ratios = others.map((x) => fmt(median(figureRuns(s, 'ours', f)) / median(figureRuns(s, x.label, f))));
    lines.push(`| ${f}${unitOf(f) ? ` (${unitOf(f)})` : ''} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  lines.push(`| failed calls / calls | ${b.sides.map((x) => `${totalFailures(s, x.label)} / ${totalCalls(s, x.label)}`).join(' | ')} |${others.map(() => ' |').join('')}`);
  return lines;
}

/** Per-RPC latency: the median over runs of each run's p50/p95/p99. */
function latencyTable(b: BenchResults, s: ScenarioResults): string[] {
  const methods = new Set<string>();
  for (const runs of Object.values(s.runs)) for (const r of runs) for (const m of Object.keys(r.latencies)) methods.add(m);
  if (methods.size === 0) return [];
  const lines = ['', '| RPC | ' + b.sides.map((x) => `${x.label} p50 / p95 / p99 (ms)`).join(' | ') + ' |', `|---|${b.sides.map(() => '---').join('|')}|`];
  for (const m of [...methods].sort()) {
    const cells = b.sides.map((x) => {
      const runs = (s.runs[x.label] ?? []).map((r) => r.latencies[m]).filter((l) => l !== undefined);
      if (runs.length === 0) return 'n/a';
      return ['p50', 'p95', 'p99'].map((p) => fmt(median(runs.map((l) => l[p as 'p50']))) ).join(' / ');
    });
    lines.push(`| ${m} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function failureNotes(b: BenchResults, s: ScenarioResults): string[] {
  const out: string[] = [];
  for (const side of b.sides) {
    const runs = s.runs[side.label] ?? [];
    const notes = [...new Set(runs.flatMap((r) => r.notes))];
    const failures = runs.flatMap((r) => r.failures);
    const byCode = new Map<string, number>();
    for (const f of failures) byCode.set(`${f.method} ${f.code}`, (byCode.get(`${f.method} ${f.code}`) ?? 0) + 1);
    for (const n of notes) out.push(`- ${side.label}: ${n}`);
    if (failures.length > 0) out.push(`- ${side.label}: ${[...byCode].map(([k, n]) => `${n}× ${k}`).join(', ')} (first: ${failures[0]!.message.slice(0, 160)})`);
  }
  return out;
}

function header(b: BenchResults): string[] {
  const m = b.machine;
  const load = b.scenarios.flatMap((s) => s.loadBefore);
  return [
    '# Performance',
    '',
    ...(b.smoke ? ['> **Smoke run** (tiny sizes, one pair): checks that every scenario works end to end. The figures mean nothing.', ''] : []),
    `Measured by \`npm run bench\` (bench/) on ${b.startedAt.slice(0, 10)}, ${b.durationS} s in all. Each scenario starts each`,
    `driver on fresh state, alternating drivers within each pair (A B A B …, ${b.sizes.pairs} pair(s)); a figure is the`,
    'median of its runs with the range in brackets, and ratios are of medians from the same interleaved run. Every',
    'answer is validated (IDs, capacities, sources, ready flags, paging, data written through mounts and restored);',
    'a failed or wrong answer is counted in the tables, never hidden.',
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memoryGiB} GiB; kernel ${m.kernel}`,
    `- Node.js ${m.node}; ${m.go}`,
    `- scratch filesystem (state of every scenario but snapshot/probe-during-copy, which make their own): ${m.scratchFs}`,
    `- commit: ${m.commit}`,
    `- 1-minute load average before each run: ${cell(load)} (at start ${m.loadAverageAtStart.join(', ')}); the machine is`,
    '  shared with other builds and tests, so absolute figures are noisy — compare ratios from this one run.',
    '',
    '## Drivers',
    '',
    '| side | what |',
    '|---|---|',
    ...b.sides.map((s) => `| ${s.label} | ${s.description} |`),
    ...b.unavailable.map((u) => `| ${u.label} | **not available on this machine**: ${u.why} |`),
    '',
  ];
}

function targetsSection(b: BenchResults, chart: string): string[] {
  const rows = evaluateTargets(b);
  return [
    '## Targets (issue 15)',
    '',
    '| target | measured | verdict | detail |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.measured} | ${r.verdict} | ${r.detail} |`),
    '',
    `![scale curve, create/delete latency and targets](${chart})`,
    '',
  ];
}

const SCENARIO_TEXT: Record<string, string> = {
  startup: 'process start → socket present → first ready Probe, empty state directory; RSS after 1 s idle.',
  'startup-state': 'N volumes made through CreateVolume, the driver stopped and started again on that state: start → first ready Probe (the first volume must then answer its old ID).',
  'create-delete': 'N CreateVolume then N DeleteVolume at concurrency C (1 MiB filesystem volumes); RSS idle and peak; one Probe at a time every 5 ms during the creates.',
  lifecycle: 'per volume Create → ControllerPublish → NodeStage → NodePublish → write and read back 4 KiB → NodeUnpublish → NodeUnstage → ControllerUnpublish → Delete; N volumes at concurrency C.',
  'snapshot-ext4': 'D MiB (many 4 KiB files and one large file), state on a fresh ext4 image: CreateSnapshot until ready_to_use, restore and clone (data checked).',
  'snapshot-xfs-reflink': 'the same on a fresh XFS image with reflink=1.',
  list: 'N volumes, one full ListVolumes pass in pages; every volume must be seen exactly once.',
  'probe-during-copy': 'Probe every 5 ms while a snapshot of one large file is copied on ext4 (no reflink).',
  scale: 'fill to each N, then time a batch of create-delete pairs at that population (cost/op = wall time / ops).',
};

export function renderReport(b: BenchResults, chart: string, analysis = ''): string {
  const lines = [...header(b), ...targetsSection(b, chart)];
  for (const s of b.scenarios) {
    lines.push(`## ${s.name}`, '', SCENARIO_TEXT[s.name] ?? '', '');
    if (s.skipped) {
      lines.push(`Skipped: ${s.skipped}.`, '');
      continue;
    }
    lines.push(...scenarioTable(b, s), ...latencyTable(b, s), '');
    const notes = failureNotes(b, s);
    if (notes.length > 0) lines.push(...notes, '');
  }
  lines.push(ANALYSIS_MARK);
  if (analysis.trim() !== '') lines.push('', analysis.trim());
  lines.push('');
  return lines.join('\n');
}

/** The hand-written part of an existing report (empty when there is none). */
export function analysisOf(existing: string): string {
  const at = existing.indexOf(ANALYSIS_MARK);
  return at < 0 ? '' : existing.slice(at + ANALYSIS_MARK.length);
}

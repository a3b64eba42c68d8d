import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cleanupDir } from '../support/host-cleanup';
import { stopAllDrivers, type DriverSpec } from './drivers';
import { machineFacts } from './machine';
import { renderChart } from './chart';
import { analysisOf, renderReport } from './report';
import type { BenchResults, ScenarioResults, SideInfo } from './results';
import { FULL, SMOKE, type RunResult, type Scenario, type ScenarioContext } from './scenario';
import { createDelete } from './scenarios/create-delete';
import { lifecycle } from './scenarios/lifecycle';
import { list } from './scenarios/list';
import { probeDuringCopy } from './scenarios/probe-during-copy';
import { scale } from './scenarios/scale';
import { snapshotExt4, snapshotXfs } from './scenarios/snapshot';
import { startup } from './scenarios/startup';
import { startupState } from './scenarios/startup-state';

const REPO = path.resolve(__dirname, '..');
const SCENARIOS: Scenario[] = [startup, startupState, createDelete, lifecycle, snapshotExt4, snapshotXfs, list, probeDuringCopy, scale];

const USAGE = `usage: npm run bench -- [--smoke] [--pairs=N] [--scenarios=a,b] [--baseline=PATH/main.js] [--reference=PATH|none]
       [--out=DIR] [--report=FILE.md] [--render=RESULTS.json]
  --smoke        tiny sizes, one pair: checks every scenario runs end to end (CI); its figures mean nothing
  --baseline     another build of this driver to compare against (e.g. the commit before a fix)
  --reference    the upstream hostpathplugin binary, built by hand elsewhere (never by this project); without it
                 the report says the reference was not given
  --out          where results.json, the report and the chart go (default .run/bench)
  --report       also write the report (and its chart beside it) to this file, e.g. docs/performance.md
  --render       only re-render the report from an earlier results.json
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;

interface Options {
  smoke: boolean;
  pairs: number | null;
  scenarios: string[] | null;
  baseline: string | null;
  reference: string | null;
  out: string;
  report: string | null;
  render: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { smoke: false, pairs: null, scenarios: null, baseline: null, reference: null, out: path.join(REPO, '.run', 'bench'), report: null, render: null };
  for (const arg of argv) {
    const [key, value = ''] = arg.split(/=(.*)/s, 2) as [string, string?];
    if (key === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (key === '--smoke') o.smoke = true;
    else if (key === '--pairs' && /^[1-9]\d*$/.test(value)) o.pairs = Number(value);
    else if (key === '--scenarios' && value) o.scenarios = value.split(',');
    else if (key === '--baseline' && value) o.baseline = path.resolve(value);
    else if (key === '--reference' && value) o.reference = value === 'none' ? 'none' : path.resolve(value);
    else if (key === '--out' && value) o.out = path.resolve(value);
    else if (key === '--report' && value) o.report = path.resolve(value);
    else if (key === '--render' && value) o.render = path.resolve(value);
    else throw new Error(`unknown or incomplete argument ${arg}\n${USAGE}`);
  }
  const unknown = (o.scenarios ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${USAGE}`);
  return o;
}

function sh(file: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => execFile(file, args, { cwd: REPO, timeout: 15 * 60_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() })));
}

/**
 * The reference driver: a binary the person running the bench built by hand. The project neither fetches nor builds
 * it, so without --reference the report says it was not given.
 */
async function referenceSide(o: Options, unavailable: BenchResults['unavailable']): Promise<SideInfo | null> {
  if (o.reference === 'none') return null;
  if (o.reference === null || !existsSync(o.reference)) {
    unavailable.push({ label: 'reference', why: o.reference === null ? 'not given (pass --reference=PATH to a hostpathplugin binary)' : `${o.reference} does not exist` });
    return null;
  }
  const version = (await sh(o.reference, ['--version'])).out.split('\n')[0] ?? 'unknown';
  return { label: 'reference', kind: 'reference', bin: o.reference, description: `upstream hostpathplugin (${version})` };
}

/** Whether a build of ours has --allowed-path-root (its --help lists it). */
async function hasAllowedPathRoot(mainJs: string): Promise<boolean> {
  return (await sh(process.execPath, [mainJs, '--help'])).out.includes('--allowed-path-root');
}

async function sides(o: Options, unavailable: BenchResults['unavailable']): Promise<SideInfo[]> {
  // The bundled build, as the image and scripts/run.sh start it (scripts/bundle.js).
  const bin = path.join(REPO, 'dist', 'bundle', 'main.js');
  if (!existsSync(bin)) throw new Error('dist/bundle/main.js is missing: run `npm run build` first');
  const out: SideInfo[] = [{ label: 'ours', kind: 'ours', bin, description: 'hostpath-csi, this tree (dist/bundle/, bundled)', allowedPathRoot: await hasAllowedPathRoot(bin) }];
  const ref = await referenceSide(o, unavailable);
  if (ref) out.push(ref);
  if (o.baseline) {
    out.push({ label: 'baseline', kind: 'baseline', bin: o.baseline, description: `hostpath-csi, another build: ${o.baseline}`, allowedPathRoot: await hasAllowedPathRoot(o.baseline) });
  }
  return out;
}

function failedRun(err: unknown): RunResult {
  return { figures: {}, latencies: {}, failures: [{ method: 'scenario', code: 'ERROR', message: (err as Error).message.split('\n')[0]! }], calls: 0, notes: [] };
}

/** Every scenario on every side, alternating sides within each pair (A B A B ...), each run on fresh state. */
async function runAll(o: Options, ctx: ScenarioContext, bench: BenchResults): Promise<void> {
  for (const scenario of SCENARIOS.filter((s) => !o.scenarios || o.scenarios.includes(s.name))) {
    const entry: ScenarioResults = { name: scenario.name, runs: Object.fromEntries(bench.sides.map((s) => [s.label, []])), loadBefore: [] };
    bench.scenarios.push(entry);
    if (scenario.needsMount && !ctx.canMount) {
      entry.skipped = 'needs root (mounts and loop devices)';
      continue;
    }
    for (let pair = 1; pair <= ctx.sizes.pairs; pair++) {
      for (const side of bench.sides) {
        ctx.log(`${scenario.name}: pair ${pair}/${ctx.sizes.pairs}, ${side.label}`);
        entry.loadBefore.push(Math.round(os.loadavg()[0]! * 100) / 100);
        const spec: DriverSpec = { label: side.label, kind: side.kind, bin: side.bin, allowedPathRoot: side.allowedPathRoot === true };
        const run = await scenario.run(spec, ctx).catch(failedRun);
        if (run.failures.length > 0) ctx.log(`  ${run.failures.length} failure(s), first: ${JSON.stringify(run.failures[0])}`);
        entry.runs[side.label]!.push(run);
      }
    }
  }
}

async function writeOutputs(o: Options, bench: BenchResults): Promise<void> {
  await mkdir(o.out, { recursive: true });
  await writeFile(path.join(o.out, 'results.json'), JSON.stringify(bench, null, 2));
  const targets = [path.join(o.out, 'performance.md'), ...(o.report ? [o.report] : [])];
  for (const md of targets) {
    const svg = md.replace(/\.md$/, '.svg');
    const analysis = analysisOf(await readFile(md, 'utf8').catch(() => ''));
    await writeFile(svg, renderChart(bench));
    await writeFile(md, renderReport(bench, path.basename(svg), analysis));
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.render) {
    await writeOutputs(o, JSON.parse(await readFile(o.render, 'utf8')) as BenchResults);
    return;
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'hpcsi-bench-'));
  const sizes = { ...(o.smoke ? SMOKE : FULL), ...(o.pairs ? { pairs: o.pairs } : {}) };
  const started = Date.now();
  const log = (m: string): void => void process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
  const ctx: ScenarioContext = { sizes, root, canMount: process.getuid?.() === 0, log };
  const unavailable: BenchResults['unavailable'] = [];
  const cleanup = async (): Promise<void> => {
    await stopAllDrivers();
    await cleanupDir(root);
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().finally(() => process.exit(143)));
  try {
    const bench: BenchResults = { smoke: o.smoke, startedAt: new Date(started).toISOString(), durationS: 0, machine: await machineFacts(root), sizes, sides: await sides(o, unavailable), unavailable, scenarios: [] };
    for (const u of unavailable) log(`${u.label} unavailable: ${u.why}`);
    await runAll(o, ctx, bench);
    bench.durationS = Math.round((Date.now() - started) / 1000);
    await writeOutputs(o, bench);
    // Only our own failures fail the bench: the reference's known defects (its ListVolumes paging) are reported.
    const failures = bench.scenarios.flatMap((s) => s.runs.ours ?? []).reduce((n, r) => n + r.failures.length, 0);
    log(`done in ${bench.durationS} s; ${failures} failed call(s) of ours; report in ${o.out}`);
    if (failures > 0) process.exitCode = 1;
  } finally {
    await cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});

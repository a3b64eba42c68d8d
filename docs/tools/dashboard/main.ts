import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupDir } from '../../../support/host-cleanup';
import { cleanUp, runLoad, seedQuarantine } from './load';
import { startMeteredDriver } from './driver';
import { interpolate, legendName, panelRect, parseDashboard, queryStep, type Dashboard } from './dashboard';
import { Prometheus } from './prometheus';
import { renderSvg, type PanelData } from './svg';

/**
 * Renders deploy/grafana/hostpath-csi.json to docs/dashboard.png from a recorded run (scripts/render-dashboard.sh;
 * by hand, as root, never in CI): the built driver with --metrics-address on a temporary state directory, a real
 * Prometheus scraping it, a few minutes of load, then every panel's PromQL, exactly as the JSON writes it with its
 * variables substituted, evaluated by that Prometheus through query_range. Everything it started is stopped and
 * everything it made is removed before it exits.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRAPE_SECONDS = 5;
const WIDTH = 1600;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  minutes: number;
  out: string;
  prometheus: string;
  /** Where to keep Prometheus' answers (JSON), to draw again with --from without a new run. */
  data: string | null;
  /** Draw from answers kept with --data instead of recording a run. */
  from: string | null;
  dashboard: string;
}

/** What a recorded run yields: the panels' query answers and the window they cover. */
interface Recording {
  minutes: number;
  start: number;
  end: number;
  step: number;
  data: PanelData[];
}

function options(argv: readonly string[]): Options {
  const o: Options = { minutes: 4, out: path.join(ROOT, 'docs', 'dashboard.png'), prometheus: path.join(ROOT, '.tools', 'bin', 'prometheus'), data: null, from: null, dashboard: path.join(ROOT, 'deploy', 'grafana', 'hostpath-csi.json') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--') continue;
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--minutes') o.minutes = Number(value);
    else if (flag === '--out') o.out = path.resolve(value);
    else if (flag === '--prometheus') o.prometheus = path.resolve(value);
    else if (flag === '--data') o.data = path.resolve(value);
    else if (flag === '--from') o.from = path.resolve(value);
    else if (flag === '--dashboard') o.dashboard = path.resolve(value);
    else throw new Error(`unknown flag ${flag} (--minutes N, --out FILE.png, --prometheus BIN, --data FILE.json, --from FILE.json, --dashboard FILE.json)`);
    i++;
  }
  if (!(o.minutes > 0)) throw new Error('--minutes must be a positive number');
  return o;
}

/** Every panel's targets through Prometheus, as Grafana would ask for them over [start, end]. */
async function queryPanels(d: Dashboard, prom: Prometheus, start: number, end: number): Promise<{ data: PanelData[]; step: number }> {
  const instances = await prom.labelValues('instance', 'hostpath_csi_build_info', start, end);
  let step = SCRAPE_SECONDS;
  const data: PanelData[] = [];
  for (const panel of d.panels) {
    step = queryStep(end - start, panelRect(panel.gridPos, WIDTH).width, SCRAPE_SECONDS);
    const series: PanelData['series'] = [];
    for (const t of panel.targets ?? []) {
      const expr = interpolate(t.expr, { values: { instance: instances }, stepSeconds: step, scrapeSeconds: SCRAPE_SECONDS });
      const result = await prom.queryRange(expr, start, end, step);
      console.log(`panel ${panel.id} ${t.refId}: ${result.length} series  ${expr}`);
      series.push(...result.map((r) => ({ name: legendName(t.legendFormat, r.labels), points: r.points })));
    }
    data.push({ panel, series });
  }
  return { data, step };
}

/** SVG → PNG with resvg, then to a 256-colour palette (libimagequant through sharp): a third of the bytes, same look. */
async function png(svg: string): Promise<Buffer> {
  const r = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: '#f4f5f5' });
  return sharp(r.render().asPng()).png({ palette: true, quality: 90, compressionLevel: 9, effort: 10 }).toBuffer();
}

/** Loop devices whose backing file is under `dir` (a leak if any is left after the run). */
async function loopsUnder(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, back]) => back?.startsWith(`${dir}/`))
    .map(([name]) => name!);
}

async function record(o: Options, workDir: string, dashboard: Dashboard): Promise<Recording> {
  const stateDir = path.join(workDir, 'state');
  await seedQuarantine(stateDir);
  const driver = await startMeteredDriver(path.join(ROOT, 'dist', 'bundle', 'main.js'), workDir, stateDir);
  let prom: Prometheus | null = null;
  try {
    await mkdir(path.join(workDir, 'prometheus'));
    prom = await Prometheus.start(o.prometheus, path.join(workDir, 'prometheus'), `127.0.0.1:${driver.metricsPort}`, SCRAPE_SECONDS);
    for (let i = 0; !(await prom.targetUp()); i++) {
      if (i > 60) throw new Error('prometheus never scraped the driver');
      await sleep(500);
    }
    const start = Math.floor(Date.now() / 1000);
    console.log(`load for ${o.minutes} min; prometheus ${(await prom.version()) || '(no version stamped)'} at ${prom.url}`);
    const load = await runLoad(driver.driver, workDir, stateDir, o.minutes * 60_000, 1500);
    await sleep(2 * SCRAPE_SECONDS * 1000); // the last scrapes of the run land before it is queried
    const end = Math.floor(Date.now() / 1000);
    const { data, step } = await queryPanels(dashboard, prom, start, end);
    console.log(`${load.rec.calls + load.expectedFailures} calls, ${load.expectedFailures} of them made to fail (and did), ${load.rec.failures.length} unexpected failures`);
    for (const f of load.rec.failures.slice(0, 20)) console.log(`  ${f.method} ${f.code}: ${f.message}`);
    await cleanUp(driver.driver, load);
    return { minutes: o.minutes, start, end, step, data };
  } finally {
    await prom?.stop();
    await driver.driver.stop();
  }
}

async function draw(o: Options, dashboard: Dashboard, r: Recording): Promise<void> {
  const caption = [
    `The dashboard's own PromQL (deploy/grafana/hostpath-csi.json, $instance = All) evaluated by Prometheus (Go module github.com/prometheus/prometheus v0.316.0) through query_range`,
    `over a recorded ${r.minutes}-minute run of scripts/render-dashboard.sh on one driver (scrape every ${SCRAPE_SECONDS} s, step ${r.step} s). Drawn by docs/tools/dashboard/: a rendering, not a Grafana screenshot.`,
  ];
  const svg = renderSvg(dashboard, r.data, { width: WIDTH, start: r.start, end: r.end, step: r.step, caption });
  await writeFile(o.out, await png(svg));
  console.log(`wrote ${o.out} (${(await readFile(o.out)).length} bytes)`);
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const dashboard = parseDashboard(readFileSync(o.dashboard, 'utf8'));
  if (o.from !== null) {
    const kept = JSON.parse(await readFile(o.from, 'utf8')) as Recording;
    // The panels as the JSON says now (titles, units, layout); the answers as they were recorded.
    kept.data = kept.data.map((d) => ({ ...d, panel: dashboard.panels.find((p) => p.id === d.panel.id) ?? d.panel }));
    return draw(o, dashboard, kept);
  }
  const workDir = await mkdtemp('/tmp/hostpath-csi-dashboard-');
  try {
    const r = await record(o, workDir, dashboard);
    if (o.data !== null) await writeFile(o.data, JSON.stringify(r));
    await draw(o, dashboard, r);
  } finally {
    const loops = await loopsUnder(workDir);
    for (const dev of loops) await promisify(execFile)('losetup', ['-d', dev]);
    if (loops.length > 0) console.error(`detached loop devices the run left: ${loops.join(' ')}`);
    await cleanupDir(workDir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

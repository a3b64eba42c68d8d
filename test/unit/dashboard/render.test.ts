import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canvasHeight,
  formatValue,
  interpolate,
  legendName,
  multiValueRegex,
  panelRect,
  parseDashboard,
  promDuration,
  queryStep,
  rateInterval,
  type Panel,
} from '../../../docs/tools/dashboard/dashboard';
import { niceScale, renderSvg } from '../../../docs/tools/dashboard/svg';

/**
 * The pure parts of scripts/render-dashboard.sh (docs/tools/dashboard/): what Grafana does with the dashboard JSON
 * before and after Prometheus answers. The Prometheus half is run by hand only; nothing here needs it.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const DASHBOARD = parseDashboard(readFileSync(path.join(ROOT, 'deploy', 'grafana', 'hostpath-csi.json'), 'utf8'));

describe('panel layout from gridPos', () => {
  it('puts two half-width panels side by side with Grafana margins of 8 px', () => {
    const left = panelRect({ x: 0, y: 0, w: 12, h: 8 }, 1600);
    const right = panelRect({ x: 12, y: 0, w: 12, h: 8 }, 1600);
    expect(left).toEqual({ x: 8, y: 8, width: 788, height: 296 });
    expect(right.x).toBeCloseTo(left.x + left.width + 8, 9);
    expect(right.x + right.width).toBeCloseTo(1600 - 8, 9);
  });

  it('places row y at 38 px per grid row (30 px cell + 8 px margin)', () => {
    expect(panelRect({ x: 0, y: 8, w: 24, h: 8 }, 1600)).toEqual({ x: 8, y: 8 + 8 * 38, width: 1584, height: 296 });
  });

  it('lays out the shipped dashboard without two panels overlapping, to the bottom of its last row', () => {
    const rects = DASHBOARD.panels.map((p) => panelRect(p.gridPos, 1600));
    for (let i = 0; i < rects.length; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const [a, b] = [rects[i]!, rects[j]!];
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${DASHBOARD.panels[i]!.title} / ${DASHBOARD.panels[j]!.title}`).toBe(true);
      }
    }
    const lowest = Math.max(...DASHBOARD.panels.map((p) => p.gridPos.y + p.gridPos.h));
    expect(canvasHeight(DASHBOARD.panels, 1600)).toBe(8 + lowest * 38 - 8 + 8);
  });

  it('refuses a panel that sticks out of the 24 columns', () => {
    const bad = JSON.stringify({ title: 't', panels: [{ id: 1, type: 'stat', title: 'wide', gridPos: { x: 20, y: 0, w: 8, h: 4 } }] });
    expect(() => parseDashboard(bad)).toThrow(/panel 1 \(wide\).*24-column grid/);
  });
});

describe('template substitution', () => {
  const vars = { values: { instance: ['127.0.0.1:9810'] }, stepSeconds: 5, scrapeSeconds: 5 };

  it('writes one instance as an escaped regex and $__rate_interval as 4 × the scrape interval', () => {
    const expr = DASHBOARD.panels.find((p) => p.id === 1)!.targets![0]!.expr;
    expect(interpolate(expr, vars)).toBe(String.raw`sum by (method, code) (rate(hostpath_csi_rpc_duration_seconds_count{instance=~"127\\.0\\.0\\.1:9810"}[20s]))`);
  });

  it('writes several values as an alternation, like Grafana does for All', () => {
    expect(multiValueRegex(['a:1', 'b:2'])).toBe('(a:1|b:2)');
    expect(interpolate('up{instance=~"${instance}"}', { ...vars, values: { instance: ['a:1', 'b:2'] } })).toBe('up{instance=~"(a:1|b:2)"}');
  });

  it('refuses a variable it has no value for instead of sending it to Prometheus', () => {
    expect(() => interpolate('up{job=~"$job"}', vars)).toThrow('the query uses $job, which has no value');
    expect(() => interpolate('up{instance=~"$instance"}', { ...vars, values: { instance: [] } })).toThrow('$instance has no values');
  });

  it('leaves no $ in any query of the shipped dashboard', () => {
    const exprs = DASHBOARD.panels.flatMap((p) => (p.targets ?? []).map((t) => interpolate(t.expr, vars)));
    expect(exprs.length).toBeGreaterThanOrEqual(DASHBOARD.panels.length);
    for (const e of exprs) expect(e).not.toContain('$');
  });

  it('computes the step and $__rate_interval the way Grafana does', () => {
    expect(queryStep(300, 788, 5)).toBe(5);
    expect(queryStep(6 * 3600, 788, 15)).toBe(30);
    expect(rateInterval(5, 5)).toBe(20);
    expect(rateInterval(60, 15)).toBe(75);
    expect([20, 120, 75].map(promDuration)).toEqual(['20s', '2m', '1m15s']);
  });
});

describe('legends and units', () => {
  it('fills legendFormat from the series labels; a missing label is empty', () => {
    expect(legendName('{{method}} {{code}}', { method: 'CreateVolume', code: 'OK' })).toBe('CreateVolume OK');
    expect(legendName('{{ kind }} used', {})).toBe(' used');
    expect(legendName(undefined, { __name__: 'up', job: 'x' })).toBe('up{job="x"}');
  });

  it.each([
    ['bytes', 1536, '1.5 KiB'],
    ['bytes', 3 * 2 ** 30, '3 GiB'],
    ['bytes', 512, '512 B'],
    ['s', 0.0042, '4.2 ms'],
    ['s', 0.000012, '12 µs'],
    ['s', 2.5, '2.5 s'],
    ['s', 0, '0 s'],
    ['reqps', 0.25, '0.25 req/s'],
    ['short', 1500, '1.5 K'],
    ['short', 12, '12'],
    [undefined, 3.14159, '3.14'],
  ])('formats %s %d as %s', (unit, v, want) => {
    expect(formatValue(unit, v)).toBe(want);
  });

  it('rounds the y axis up to a tick of 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceScale(7)).toEqual({ max: 8, tick: 2 });
    expect(niceScale(0.043)).toEqual({ max: 0.05, tick: 0.01 });
    expect(niceScale(0)).toEqual({ max: 1, tick: 0.25 });
  });
});

describe('drawing', () => {
  const ts: Panel = { id: 1, type: 'timeseries', title: 'Calls', gridPos: { x: 0, y: 0, w: 12, h: 8 }, fieldConfig: { defaults: { unit: 'reqps' } } };
  const st: Panel = { id: 2, type: 'stat', title: 'Reconcile', gridPos: { x: 12, y: 0, w: 12, h: 8 }, fieldConfig: { defaults: { unit: 's' } } };
  const opts = { width: 1600, start: 1000, end: 1300, step: 5, caption: ['a rendering'] };
  const dash = { title: 'hostpath-csi', panels: [ts, st] };

  it('says "No data" for a panel whose queries returned nothing, and draws no line there', () => {
    const svg = renderSvg(dash, [{ panel: ts, series: [] }, { panel: st, series: [{ name: 'x', points: [] }] }], opts);
    expect(svg.match(/>No data</g)).toHaveLength(2);
    expect(svg).not.toContain('<polyline');
  });

  it('draws each series as a line named in the legend, broken where Prometheus had no sample', () => {
    const points: [number, number][] = [[1000, 1], [1005, 2], [1010, 1], [1100, 3], [1105, 2]];
    const svg = renderSvg(dash, [{ panel: ts, series: [{ name: 'CreateVolume OK', points }] }, { panel: st, series: [] }], opts);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>CreateVolume OK<');
    expect(svg).toContain('>3 req/s<');
  });

  it('shows a stat panel as the last value in its unit', () => {
    const svg = renderSvg(dash, [{ panel: ts, series: [] }, { panel: st, series: [{ name: 'i', points: [[1000, 0.5], [1005, 0.0123]] }] }], opts);
    expect(svg).toContain('>12.3 ms<');
    expect(svg).not.toContain('>500 ms<');
  });
});

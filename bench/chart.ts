import { figureRuns, type BenchResults } from './results';
import { median } from './stats';
import { evaluateTargets } from './targets';

/**
 * The report's chart, as hand-written SVG (no plotting dependency): the scale curve, create/delete latency
 * percentiles per driver, and each target's measured/goal score on a log axis.
 */
const W = 1340;
const H = 400;
const PANEL = { w: 320, h: 260, top: 60 };
const COLORS: Record<string, string> = { ours: '#1f6fb4', reference: '#d62728', baseline: '#8c8c8c' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, s: string, extra = ''): string => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`;
const colorOf = (label: string): string => COLORS[label] ?? '#2ca02c';

function niceMax(v: number): number {
  if (!Number.isFinite(v) || v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v)!;
}

function frame(x0: number, title: string, yLabel: string): string[] {
  const { w, h, top } = PANEL;
  return [
    text(x0 + w / 2, top - 28, title, 'text-anchor="middle" font-weight="bold"'),
    `<line x1="${x0}" y1="${top + h}" x2="${x0 + w}" y2="${top + h}" stroke="#333"/>`,
    `<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + h}" stroke="#333"/>`,
    text(x0 - 44, top + h / 2, yLabel, `text-anchor="middle" transform="rotate(-90 ${x0 - 44} ${top + h / 2})"`),
  ];
}

function yTicks(x0: number, max: number, fmt: (v: number) => string): string[] {
  const { w, h, top } = PANEL;
  return [0, 0.25, 0.5, 0.75, 1].flatMap((f) => {
    const y = top + h - f * h;
    return [`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#e4e4e4"/>`, text(x0 - 6, y + 4, fmt(f * max), 'text-anchor="end"')];
  });
}

function scalePanel(b: BenchResults, x0: number): string[] {
  const { w, h, top } = PANEL;
  const s = b.scenarios.find((x) => x.name === 'scale' && !x.skipped);
  const ns = b.sizes.scale.ns;
  const series = b.sides.map((side) => ({ label: side.label, pts: ns.map((n) => median(figureRuns(s, side.label, `costMs@${n}`))) }));
  const max = niceMax(Math.max(...series.flatMap((x) => x.pts.filter(Number.isFinite))));
  const lx = (n: number): number => {
    const [a, z] = [Math.log10(ns[0]!), Math.log10(ns[ns.length - 1]!)];
    return x0 + 20 + ((Math.log10(n) - a) / (z - a || 1)) * (w - 40);
  };
  const ly = (v: number): number => top + h - (v / max) * h;
  const out = [...frame(x0, 'Cost per create/delete op vs volumes present', 'ms per op'), ...yTicks(x0, max, (v) => v.toFixed(max < 1 ? 2 : 1))];
  for (const n of ns) out.push(text(lx(n), top + h + 16, n.toLocaleString('en-US'), 'text-anchor="middle"'));
  out.push(text(x0 + w / 2, top + h + 34, 'volumes already present (log scale)', 'text-anchor="middle"'));
  for (const sr of series) {
    const pts = ns.map((n, i) => [lx(n), ly(sr.pts[i]!)] as const).filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${colorOf(sr.label)}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${colorOf(sr.label)}"/>`);
  }
  return out;
}

function latencyPanel(b: BenchResults, x0: number): string[] {
  const { w, h, top } = PANEL;
  const s = b.scenarios.find((x) => x.name === 'create-delete' && !x.skipped);
  const methods = ['CreateVolume', 'DeleteVolume'];
  const pcts = ['p50', 'p95', 'p99'] as const;
  const groups = methods.flatMap((m) => b.sides.map((side) => ({ m, label: side.label, v: pcts.map((p) => median((s?.runs[side.label] ?? []).map((r) => r.latencies[m]?.[p] ?? NaN))) })));
  const max = niceMax(Math.max(...groups.flatMap((g) => g.v.filter(Number.isFinite))));
  const out = [...frame(x0, 'create-delete latency p50 / p95 / p99', 'ms'), ...yTicks(x0, max, (v) => v.toFixed(max < 10 ? 1 : 0))];
  const gw = (w - 20) / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const gx = x0 + 10 + gi * gw;
    g.v.forEach((v, pi) => {
      if (!Number.isFinite(v)) return;
      const bh = (v / max) * h;
      out.push(`<rect x="${(gx + 4 + pi * ((gw - 8) / 3)).toFixed(1)}" y="${(top + h - bh).toFixed(1)}" width="${((gw - 8) / 3 - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colorOf(g.label)}" fill-opacity="${[1, 0.65, 0.35][pi]}"/>`);
    });
    out.push(text(gx + gw / 2, top + h + 16, g.m.replace('Volume', ''), 'text-anchor="middle"'), text(gx + gw / 2, top + h + 30, g.label, 'text-anchor="middle" font-size="10"'));
  });
  return out;
}

function targetsPanel(b: BenchResults, x0: number): string[] {
  const { w, h, top } = PANEL;
  const rows = evaluateTargets(b);
  const [lo, hi] = [-1, 2]; // log10 of 0.1× .. 100× the goal
  const lx = (score: number): number => x0 + ((Math.log10(Math.min(100, Math.max(0.1, score))) - lo) / (hi - lo)) * w;
  const rh = h / rows.length;
  const out = [text(x0 + w / 2, top - 28, 'Targets: measured ÷ goal (right of 1 = met)', 'text-anchor="middle" font-weight="bold"')];
  for (const t of [0.1, 1, 10, 100]) {
    out.push(`<line x1="${lx(t)}" y1="${top}" x2="${lx(t)}" y2="${top + h}" stroke="${t === 1 ? '#333' : '#e4e4e4'}"/>`, text(lx(t), top + h + 16, `${t}×`, 'text-anchor="middle"'));
  }
  rows.forEach((r, i) => {
    const y = top + i * rh;
    const short = r.short;
    out.push(text(x0 - 6, y + rh / 2 + 4, short, 'text-anchor="end" font-size="10"'));
    if (!Number.isFinite(r.score)) {
      out.push(text(lx(1) + 6, y + rh / 2 + 4, 'not measured', 'font-size="10" fill="#888"'));
      return;
    }
    const [a, z] = [Math.min(lx(1), lx(r.score)), Math.max(lx(1), lx(r.score))];
    out.push(`<rect x="${a.toFixed(1)}" y="${(y + 3).toFixed(1)}" width="${Math.max(1, z - a).toFixed(1)}" height="${(rh - 6).toFixed(1)}" fill="${r.score >= 1 ? '#2ca02c' : '#d62728'}"/>`);
  });
  return out;
}

function legend(b: BenchResults): string[] {
  return b.sides.flatMap((s, i) => [`<rect x="${70 + i * 140}" y="${H - 20}" width="12" height="12" fill="${colorOf(s.label)}"/>`, text(88 + i * 140, H - 10, s.label)]);
}

export function renderChart(b: BenchResults): string {
  const body = [...scalePanel(b, 70), ...latencyPanel(b, 450), ...targetsPanel(b, W - PANEL.w - 40), ...legend(b)];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

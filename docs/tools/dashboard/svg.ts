import { canvasHeight, formatValue, panelRect, type Dashboard, type Panel, type Rect } from './dashboard';

/**
 * Draws the dashboard as SVG in Grafana's grid: a time series panel as lines with a y axis in the panel's unit, a
 * time axis and a legend below (Grafana's default "list" legend); a stat panel as its last value over a sparkline.
 * A panel whose queries returned nothing says "No data", as Grafana does; nothing is drawn that Prometheus did not
 * answer.
 */

export interface Series {
  name: string;
  /** [unix seconds, value], in time order. */
  points: [number, number][];
}

export interface PanelData {
  panel: Panel;
  series: Series[];
}

export interface RenderOptions {
  width: number;
  start: number;
  end: number;
  step: number;
  /** Lines under the dashboard's title saying what this picture is. */
  caption: string[];
}

/** Grafana's classic palette, in its order. */
export const PALETTE = ['#7EB26D', '#EAB839', '#6ED0E0', '#EF843C', '#E24D42', '#1F78C1', '#BA43A6', '#705DA0', '#508642', '#CCA300', '#447EBC', '#C15C17', '#890F02', '#0A437C', '#6D1F62', '#584477'];

const FONT = 12;
const HEADER = 64;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (v: number): string => v.toFixed(1);
const text = (x: number, y: number, s: string, extra = ''): string => `<text x="${f1(x)}" y="${f1(y)}" ${extra}>${esc(s)}</text>`;

/** About how wide a string is in the sans-serif font at `size` px (for fitting titles and legends). */
const textWidth = (s: string, size = FONT): number => s.length * size * 0.58;

function fit(s: string, width: number, size = FONT): string {
  if (textWidth(s, size) <= width) return s;
  const keep = Math.max(1, Math.floor(width / (size * 0.58)) - 1);
  return `${s.slice(0, keep)}…`;
}

/** A round upper bound for the y axis and its tick spacing (4 or 5 ticks). */
export function niceScale(max: number): { max: number; tick: number } {
  if (!Number.isFinite(max) || max <= 0) return { max: 1, tick: 0.25 };
  const p = 10 ** Math.floor(Math.log10(max / 4));
  const tick = [1, 2, 2.5, 5, 10].map((m) => m * p).find((t) => t * 5 >= max)!;
  return { max: Math.ceil(max / tick - 1e-9) * tick, tick };
}

function timeLabel(t: number): string {
  return new Date(t * 1000).toISOString().slice(11, 16);
}

/** The legend's rows: items flow left to right like Grafana's list legend; rows that do not fit become "+N more". */
function legendRows(series: readonly Series[], width: number, maxRows: number): { items: { s: Series; i: number; x: number }[][]; hidden: number } {
  const rows: { s: Series; i: number; x: number }[][] = [[]];
  let x = 0;
  series.forEach((s, i) => {
    const w = 18 + textWidth(s.name, 11) + 14;
    if (x > 0 && x + w > width) {
      rows.push([]);
      x = 0;
    }
    rows[rows.length - 1]!.push({ s, i, x });
    x += w;
  });
  const kept = rows.slice(0, maxRows);
  return { items: kept, hidden: series.length - kept.flat().length };
}

/** Splits a series where Prometheus returned no point for more than one step and a half (Grafana leaves a gap). */
function segments(points: readonly [number, number][], step: number): [number, number][][] {
  const out: [number, number][][] = [];
  let prev = -Infinity;
  for (const p of points) {
    if (p[0] - prev > step * 1.5 || out.length === 0) out.push([]);
    out[out.length - 1]!.push(p);
    prev = p[0];
  }
  return out;
}

function yRange(series: readonly Series[]): { min: number; max: number; tick: number } {
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const lo = Math.min(0, ...values);
  const { max, tick } = niceScale(Math.max(...values, 0) - lo || Math.abs(lo) || 1);
  const min = lo < 0 ? -Math.ceil(-lo / tick) * tick : 0;
  return { min, max: min + max, tick };
}

function axes(plot: Rect, unit: string | undefined, y: { min: number; max: number; tick: number }, o: RenderOptions): string[] {
  const out: string[] = [];
  const ys = (v: number): number => plot.y + plot.height - ((v - y.min) / (y.max - y.min)) * plot.height;
  for (let v = y.min; v <= y.max + y.tick / 2; v += y.tick) {
    out.push(`<line x1="${f1(plot.x)}" y1="${f1(ys(v))}" x2="${f1(plot.x + plot.width)}" y2="${f1(ys(v))}" stroke="#e9e9ec"/>`);
    out.push(text(plot.x - 6, ys(v) + 4, formatValue(unit, v), 'text-anchor="end" font-size="11" fill="#555"'));
  }
  const span = o.end - o.start;
  const every = [60, 120, 300, 600, 900, 1800, 3600].find((s) => (span / s) * 48 <= plot.width) ?? 3600;
  for (let t = Math.ceil(o.start / every) * every; t <= o.end; t += every) {
    const x = plot.x + ((t - o.start) / span) * plot.width;
    out.push(`<line x1="${f1(x)}" y1="${f1(plot.y)}" x2="${f1(x)}" y2="${f1(plot.y + plot.height)}" stroke="#f1f1f3"/>`);
    out.push(text(x, plot.y + plot.height + 14, timeLabel(t), 'text-anchor="middle" font-size="11" fill="#555"'));
  }
  return out;
}

function timeseries(d: PanelData, body: Rect, o: RenderOptions): string[] {
  const unit = d.panel.fieldConfig?.defaults?.unit;
  const legend = legendRows(d.series, body.width - 8, Math.max(1, Math.floor((body.height * 0.4) / 16)));
  const legendH = (legend.items.length + (legend.hidden > 0 ? 1 : 0)) * 16 + 4;
  const y = yRange(d.series);
  const yLabelW = Math.max(...[y.min, y.max].map((v) => textWidth(formatValue(unit, v), 11))) + 10;
  const plot = { x: body.x + yLabelW, y: body.y + 6, width: body.width - yLabelW - 8, height: body.height - legendH - 26 };
  const xs = (t: number): number => plot.x + ((t - o.start) / (o.end - o.start)) * plot.width;
  const ys = (v: number): number => plot.y + plot.height - ((v - y.min) / (y.max - y.min)) * plot.height;
  const out = axes(plot, unit, y, o);
  d.series.forEach((s, i) => {
    for (const seg of segments(s.points, o.step)) {
      const pts = seg.map(([t, v]) => `${f1(xs(t))},${f1(ys(v))}`).join(' ');
      out.push(seg.length === 1 ? `<circle cx="${f1(xs(seg[0]![0]))}" cy="${f1(ys(seg[0]![1]))}" r="2" fill="${PALETTE[i % PALETTE.length]}"/>` : `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.5" points="${pts}"/>`);
    }
  });
  const top = plot.y + plot.height + 24;
  legend.items.forEach((row, r) =>
    row.forEach(({ s, i, x }) => {
      const ly = top + r * 16;
      out.push(`<rect x="${f1(body.x + 4 + x)}" y="${f1(ly + 5)}" width="14" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`);
      out.push(text(body.x + 4 + x + 18, ly + 10, s.name, 'font-size="11" fill="#333"'));
    }),
  );
  if (legend.hidden > 0) out.push(text(body.x + 4, top + legend.items.length * 16 + 10, `+${legend.hidden} more series`, 'font-size="11" fill="#777"'));
  return out;
}

/** A stat panel: each series' last value, large, over its sparkline (Grafana's default reducer is "last not null"). */
function stat(d: PanelData, body: Rect, o: RenderOptions): string[] {
  const unit = d.panel.fieldConfig?.defaults?.unit;
  const w = body.width / d.series.length;
  return d.series.flatMap((s, i) => {
    const cell = { x: body.x + i * w, y: body.y, width: w, height: body.height };
    const last = s.points[s.points.length - 1]![1];
    const values = s.points.map((p) => p[1]);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const xs = (t: number): number => cell.x + ((t - o.start) / (o.end - o.start)) * cell.width;
    const ys = (v: number): number => cell.y + cell.height - 4 - (hi === lo ? 0.1 : (v - lo) / (hi - lo)) * cell.height * 0.35;
    const line = s.points.map(([t, v]) => `${f1(xs(t))},${f1(ys(v))}`).join(' ');
    const size = Math.min(48, cell.height * 0.35);
    return [
      `<polyline fill="none" stroke="#73BF69" stroke-opacity="0.8" stroke-width="1.5" points="${line}"/>`,
      text(cell.x + cell.width / 2, cell.y + cell.height * 0.45, formatValue(unit, last), `text-anchor="middle" font-size="${f1(size)}" font-weight="bold" fill="#37872D"`),
      ...(d.series.length > 1 ? [text(cell.x + cell.width / 2, cell.y + cell.height * 0.45 + 18, s.name, 'text-anchor="middle" font-size="11" fill="#555"')] : []),
    ];
  });
}

function panel(d: PanelData, r: Rect, o: RenderOptions): string[] {
  const out = [
    `<rect x="${f1(r.x)}" y="${f1(r.y)}" width="${f1(r.width)}" height="${f1(r.height)}" rx="3" fill="#fff" stroke="#dcdce0"/>`,
    text(r.x + 8, r.y + 20, fit(d.panel.title, r.width - 16, 13), 'font-size="13" font-weight="bold" fill="#222"'),
  ];
  const body = { x: r.x + 4, y: r.y + 30, width: r.width - 8, height: r.height - 34 };
  const withData = { ...d, series: d.series.filter((s) => s.points.length > 0) };
  if (withData.series.length === 0) {
    out.push(text(r.x + r.width / 2, body.y + body.height / 2, 'No data', 'text-anchor="middle" font-size="16" fill="#888"'));
    return out;
  }
  return [...out, ...(d.panel.type === 'stat' ? stat(withData, body, o) : timeseries(withData, body, o))];
}

export function renderSvg(dashboard: Dashboard, data: readonly PanelData[], o: RenderOptions): string {
  const height = HEADER + canvasHeight(dashboard.panels, o.width);
  const body = data.flatMap((d) => {
    const r = panelRect(d.panel.gridPos, o.width);
    return panel(d, { ...r, y: r.y + HEADER }, o);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${Math.ceil(height)}" viewBox="0 0 ${o.width} ${Math.ceil(height)}" font-family="DejaVu Sans, sans-serif" font-size="${FONT}">`,
    `<rect width="${o.width}" height="${Math.ceil(height)}" fill="#f4f5f5"/>`,
    text(12, 26, dashboard.title, 'font-size="20" font-weight="bold" fill="#222"'),
    ...o.caption.map((line, i) => text(12, 44 + i * 14, line, 'font-size="11" fill="#555"')),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The pure half of the dashboard rendering: what Grafana does with deploy/grafana/hostpath-csi.json before it asks
 * Prometheus anything (panel layout from gridPos, template variables, the query step and $__rate_interval) and after
 * (legend names, unit formatting). Nothing here talks to a process or the disk, so test/unit/dashboard/ covers it.
 */

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
}

export interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; includeAll?: boolean; multi?: boolean }[] };
}

/** Grafana's grid: 24 columns, rows of 30 px, 8 px between cells (public/app/core/constants.ts). */
export const GRID = { columns: 24, cellHeight: 30, margin: 8 } as const;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where Grafana's react-grid-layout puts a panel on a canvas `canvasWidth` pixels wide. */
export function panelRect(pos: GridPos, canvasWidth: number): Rect {
  const { columns, cellHeight, margin } = GRID;
  const colWidth = (canvasWidth - margin * (columns + 1)) / columns;
  return {
    x: margin + pos.x * (colWidth + margin),
    y: margin + pos.y * (cellHeight + margin),
    width: pos.w * colWidth + (pos.w - 1) * margin,
    height: pos.h * cellHeight + (pos.h - 1) * margin,
  };
}

/** The height of the whole canvas: the bottom of the lowest panel plus a margin. */
export function canvasHeight(panels: readonly Panel[], canvasWidth: number): number {
  const bottoms = panels.map((p) => {
    const r = panelRect(p.gridPos, canvasWidth);
    return r.y + r.height;
  });
  return Math.ceil(Math.max(0, ...bottoms) + GRID.margin);
}

/** Grafana's rounding of a computed interval to a "nice" one (a subset of kbn.roundInterval's table), in seconds. */
const NICE_INTERVALS = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600];

/**
 * The query step Grafana uses for a panel (`$__interval`): the range spread over one point per pixel of the panel's
 * width, rounded to a nice interval, and never below the data source's scrape interval ("Min interval").
 */
export function queryStep(rangeSeconds: number, widthPx: number, scrapeSeconds: number): number {
  const raw = rangeSeconds / Math.max(1, Math.floor(widthPx));
  const nice = NICE_INTERVALS.find((n) => n >= raw) ?? Math.ceil(raw);
  return Math.max(scrapeSeconds, nice);
}

/** `$__rate_interval` (Grafana ≥ 7.2): max($__interval + scrape interval, 4 × scrape interval). */
export function rateInterval(stepSeconds: number, scrapeSeconds: number): number {
  return Math.max(stepSeconds + scrapeSeconds, 4 * scrapeSeconds);
}

/** A Prometheus duration literal: 20s, 2m, 1m30s. */
export function promDuration(seconds: number): string {
  if (seconds % 60 !== 0) return seconds > 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : `${seconds}s`;
  return `${seconds / 60}m`;
}

/**
 * How Grafana's Prometheus data source writes a multi-value or include-All variable into a query: each value with
 * regex metacharacters escaped (doubled backslash, since the value lands inside a PromQL double-quoted string), and
 * several values as an alternation `(a|b)`.
 */
export function multiValueRegex(values: readonly string[]): string {
  const escaped = values.map((v) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, (c) => `\\\\${c}`));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export interface Variables {
  /** Query variables by name: the values "All" stands for. */
  values: Record<string, readonly string[]>;
  stepSeconds: number;
  scrapeSeconds: number;
}

/**
 * A target's expression as Grafana sends it: `$__rate_interval`, `$__interval`, and each `$name` / `${name}` of a
 * query variable replaced. A variable the dashboard uses but `vars` does not know is an error, never left in place.
 */
export function interpolate(expr: string, vars: Variables): string {
  const builtins: Record<string, string> = {
    __rate_interval: promDuration(rateInterval(vars.stepSeconds, vars.scrapeSeconds)),
    __interval: promDuration(vars.stepSeconds),
  };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name in builtins) return builtins[name]!;
    const values = vars.values[name];
    if (values === undefined) throw new Error(`the query uses $${name}, which has no value`);
    if (values.length === 0) throw new Error(`$${name} has no values to substitute`);
    return multiValueRegex(values);
  });
}

/** A series name from a target's legendFormat (`{{method}} {{code}}`); without one, Grafana's `{a="1", b="2"}`. */
export function legendName(format: string | undefined, labels: Record<string, string>): string {
  if (format === undefined || format === '') {
    const inner = Object.entries(labels)
      .filter(([k]) => k !== '__name__')
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ');
    return `${labels.__name__ ?? ''}{${inner}}`;
  }
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, key: string) => labels[key] ?? '');
}

/** Fixed decimals by magnitude (3 significant digits at most), trailing zeros kept out. */
function num(v: number): string {
  const a = Math.abs(v);
  const digits = a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

function scaled(v: number, base: number, suffixes: readonly string[]): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < suffixes.length - 1) {
    x /= base;
    i++;
  }
  return `${num(x)}${suffixes[i]}`;
}

function seconds(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0 s';
  if (a < 1e-3) return `${num(v * 1e6)} µs`;
  if (a < 1) return `${num(v * 1e3)} ms`;
  if (a < 60) return `${num(v)} s`;
  if (a < 3600) return `${num(v / 60)} min`;
  return `${num(v / 3600)} hour`;
}

/**
 * A value in a panel's unit, the way Grafana's value formats write it: `bytes` in IEC units, `s` from µs to hours,
 * `reqps` as req/s, `short` with K / Mil / Bil. An unknown unit is a plain number.
 */
export function formatValue(unit: string | undefined, v: number): string {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 'bytes':
      return scaled(v, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB']);
    case 's':
      return seconds(v);
    case 'reqps':
      return `${scaled(v, 1000, ['', ' K', ' Mil'])} req/s`;
    case 'short':
      return scaled(v, 1000, ['', ' K', ' Mil', ' Bil', ' Tri']);
    default:
      return num(v);
  }
}

/** The panels Grafana would show from a dashboard's JSON text, with the checks a rendering relies on. */
export function parseDashboard(text: string): Dashboard {
  const d = JSON.parse(text) as Dashboard;
  if (!Array.isArray(d.panels)) throw new Error('the dashboard has no panels array');
  for (const p of d.panels) {
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.w < 1 || g.x + g.w > GRID.columns) {
      throw new Error(`panel ${p.id} (${p.title}): gridPos ${JSON.stringify(g)} is not inside the 24-column grid`);
    }
  }
  return d;
}

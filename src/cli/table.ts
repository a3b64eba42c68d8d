import type { Row } from './listings';

function cell(v: Row[string]): string {
  if (v === null || v === '') return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(',');
  return String(v);
}

/** Column headers from the keys: capacityBytes → CAPACITY-BYTES. */
function header(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, '$1-$2').toUpperCase();
}

/** Rows as aligned columns (kubectl's style), one header line; "(none)" for no rows. */
export function renderTable(rows: Row[], columns?: readonly string[]): string {
  if (rows.length === 0) return '(none)\n';
  const keys = columns ?? Object.keys(rows[0]!);
  const cells = [keys.map(header), ...rows.map((r) => keys.map((k) => cell(r[k] ?? null)))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  return cells.map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

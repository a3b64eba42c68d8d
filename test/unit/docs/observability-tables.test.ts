import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverMetrics } from '../../../src/metrics/metrics';
import { startDriver, type TestDriver } from '../../helpers/fakes';

/**
 * docs/observability.md promises operators a list of every metric family and every health finding. These tests hold
 * the two tables to the code: a family registered but not documented, or a row left behind after a rename, fails.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const DOC = readFileSync(path.join(ROOT, 'docs', 'observability.md'), 'utf8');

/** The rows of the first Markdown table after `heading`, split into trimmed cells (header and rule left out). */
function tableAfter(heading: string): string[][] {
  const lines = DOC.slice(DOC.indexOf(heading)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  expect(rows.length, `a table after ${heading}`).toBeGreaterThan(0);
  return rows;
}

const code = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

let d: TestDriver | null = null;
let m: DriverMetrics | null = null;
afterEach(async () => {
  m?.close();
  await d?.cleanup();
  (m = null), (d = null);
});

describe('docs/observability.md metric table', () => {
  it('names exactly the families a driver running both halves registers (prom-client defaults as process_*, nodejs_*)', async () => {
    d = await startDriver();
    // Both halves and the loop source: the registry then holds every family the driver can export.
    m = new DriverMetrics({ controller: d.controllerDeps, node: d.nodeDeps, loops: d.loops, startupSeconds: () => 1 }, '9.9.9');
    const registered = m.registry.getMetricsAsArray().map((x) => x.name);
    const ours = registered.filter((n) => n.startsWith('hostpath_csi_')).sort();
    const defaults = registered.filter((n) => !n.startsWith('hostpath_csi_'));
    const documented = tableAfter('### The metrics').flatMap((r) => code(r[0]!));
    expect(documented.filter((n) => n.startsWith('hostpath_csi_')).sort()).toEqual(ours);
    expect(documented.filter((n) => !n.startsWith('hostpath_csi_')).sort()).toEqual(['nodejs_*', 'process_*']);
    expect(defaults.length).toBeGreaterThan(0);
    for (const n of defaults) expect(n, 'a default family outside the documented prefixes').toMatch(/^(process|nodejs)_/);
  });
});

/** Every (reason, status) pair the source code can report: finding('STATUS', 'Reason', ...) or { status, reason } literals. */
function findingsInSource(): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'generated' ? [] : walk(path.join(dir, e.name))) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const x of text.matchAll(/finding\(\s*'([A-Z_]+)',\s*'(\w+)'|status: '([A-Z_]+)', reason: '(\w+)'/g)) {
      const [status, reason] = [x[1] ?? x[3]!, x[2] ?? x[4]!];
      found.set(reason, (found.get(reason) ?? new Set()).add(status));
    }
  }
  return found;
}

describe('docs/observability.md health tables', () => {
  it('list every reason the volume and storage checks report, with the statuses the code gives it, and no other', () => {
    const documented = new Map<string, Set<string>>();
    const rows = [...tableAfter('| reason | status | asked by |'), ...tableAfter('| reason | status | what triggers it |')];
    for (const r of rows) documented.set(code(r[0]!)[0]!, new Set(r[1]!.split('/').map((s) => s.trim())));
    const inSource = findingsInSource();
    expect(inSource.size).toBeGreaterThan(10);
    expect([...documented.keys()].sort()).toEqual([...inSource.keys()].sort());
    for (const [reason, statuses] of inSource) expect([...documented.get(reason)!].sort(), reason).toEqual([...statuses].sort());
  });
});

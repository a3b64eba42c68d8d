import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART, ROOT } from './manifests';

/** docs/kubernetes.md's Helm values table names every top-level key of values.yaml, and nothing values.yaml lacks. */
describe('docs/kubernetes.md values table', () => {
  it('names every top-level value of the chart', () => {
    const keys = [...readFileSync(path.join(CHART, 'values.yaml'), 'utf8').matchAll(/^([a-zA-Z]\w*):/gm)].map((m) => m[1]!);
    const doc = readFileSync(path.join(ROOT, 'docs', 'kubernetes.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    const named = new Set(rows.flatMap((r) => [...r.split('|')[1]!.matchAll(/`([a-zA-Z]\w*)[.`<]/g)].map((m) => m[1]!)));
    for (const k of keys) expect(named.has(k), `values.yaml key ${k} missing from the docs table`).toBe(true);
  });
});

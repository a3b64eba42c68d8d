/**
 * The folder structure as a test (docs/architecture.md): no import cycle between src/ folders, the volume kind
 * is branched on only in its own slice (src/kinds/) and the kind choice (src/domain/kind-choice.ts), and the host
 * (node:fs, fs-extra, node:child_process, /proc) is touched only from src/os and the code the issue exempts. What
 * starts processes is checked in test/unit/os/no-shell.test.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, sources } from '../helpers/sources';

/** A file's unit in the folder graph: its top folder under src/, or the file itself for a file directly in src/. */
function unitOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
}

/** Every relative import (type-only ones too: they tie the folders together just the same). */
function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => path.resolve(path.dirname(file), m[1]!));
}

async function folderGraph(): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>();
  for (const file of await sources(SRC)) {
    const from = unitOf(file);
    for (const target of importsOf(file, await readFile(file, 'utf8'))) {
      const to = unitOf(target);
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** The cycles of a graph, one path per strongly connected component of more than one unit (Tarjan). */
function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * Who may touch the host directly (issue 14): src/os (the interfaces' real implementations), the state store, and
 * start-up code (server, config, the composition root, app/main, the offline CLI). Everything else — the domain
 * (volumes, snapshots, node, kinds, validate, domain) and the services above it — goes through src/os interfaces.
 */
const HOST_ALLOWED = /^(os|state|server|cli|generated)\/|^(config|compose|app|main|package-root)\.ts$/;

/** What a file names of the host: an import of node:fs*, fs-extra or node:child_process (static, dynamic or require), or '/proc'. */
function hostUsesOf(text: string): string[] {
  const modules = /(?:from\s+|import\(\s*|require\(\s*)['"]((?:node:)?(?:fs|fs\/promises|child_process)|fs-extra)['"]/g;
  const found = [...text.matchAll(modules)].map((m) => m[1]!);
  if (/['"`]\/proc[/'"`]/.test(text)) found.push('/proc');
  return found;
}

describe('architecture', () => {
  it('spots every way a file can reach the host (the checker itself)', () => {
    const text = [
      "import { mkdir } from 'node:fs/promises';",
      "import fse from 'fs-extra';",
      "const cp = await import('node:child_process');",
      "const fs = require('fs');",
      "const mounts = readFile('/proc/self/mountinfo');",
      "import { join } from 'node:path';",
    ].join('\n');
    expect(hostUsesOf(text)).toEqual(['node:fs/promises', 'fs-extra', 'node:child_process', 'fs', '/proc']);
  });

  it('touches the host (node:fs*, fs-extra, node:child_process, /proc) only from src/os, the state store and start-up code', async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = path.relative(SRC, file);
      if (HOST_ALLOWED.test(rel)) continue;
      for (const use of hostUsesOf(await readFile(file, 'utf8'))) offenders.push(`${rel}: ${use}`);
    }
    expect(offenders).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const graph = new Map([
      ['volumes', new Set(['snapshots', 'state'])],
      ['snapshots', new Set(['volumes'])],
      ['state', new Set<string>()],
    ]);
    expect(cyclesOf(graph)).toEqual([['snapshots', 'volumes']]);
  });

  it('has no import cycle between folders of src/', async () => {
    expect(cyclesOf(await folderGraph())).toEqual([]);
  });

  it('lets generated wire types in only at the boundary (services, validate, server, grpc)', async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = path.relative(SRC, file);
      if (/^(services|validate|server|grpc)\//.test(rel)) continue;
      if (/from '[./]*\/generated\//.test(await readFile(file, 'utf8'))) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });

  it("crosses between controller and node state only through src/contract.ts", async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = path.relative(SRC, file);
      const text = await readFile(file, 'utf8');
      // The node side reads no controller record or data path itself (ControllerStateForNode does).
      const nodeSide = /^node\//.test(rel) || /^kinds\/[^/]+\/node\.ts$/.test(rel);
      if (nodeSide && /\b(readRecordFile|volumeRecordFile|volumeRecordsDir|volumeImageFile)\b/.test(text)) offenders.push(`${rel}: reads controller state`);
      // The controller side holds no loop device, mount table or node record of its own (NodeStateForController does).
      const controllerSide = /^(volumes|snapshots)\//.test(rel) || /^kinds\/([^/]+\/controller|sparse-image)\.ts$/.test(rel);
      const touchesNode = /\b(LoopDevices|Mounter|nodeRecords)\b|\.(freeze|thaw)\(/.test(text.replace(/this\.nodeState\.(freeze|thaw)\(|this\.freeze\(/g, ''));
      // volumes/health-checks.ts only declares the node-side check context (its loop devices) that node/health.ts fills.
      if (controllerSide && rel !== path.join('volumes', 'health-checks.ts') && touchesNode) offenders.push(`${rel}: touches node state`);
    }
    expect(offenders).toEqual([]);
  });

  it('branches on the volume kind only in src/kinds/ and src/domain/kind-choice.ts', async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = path.relative(SRC, file);
      // The offline CLI and the metrics read records of every kind and report them per kind: not the driver's paths.
      if (/^(kinds|cli|metrics)\//.test(rel) || rel === path.join('domain', 'kind-choice.ts')) continue;
      const text = await readFile(file, 'utf8');
      if (/\bkind\s*[!=]==?\s*'(dir|quota|image|block)'/.test(text)) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });
});

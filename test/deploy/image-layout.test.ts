import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectCsi } from '../helpers/csi-client';
import { PACKAGE_VERSION, ROOT } from './manifests';

/**
 * Docker is not available where these tests run, so they check the image the way it would be used: they read the
 * Dockerfile, rebuild its runtime stage's /app in a temp directory (the same COPY sources, the same `npm ci`), and
 * run the driver from there — which proves dist/ needs nothing beyond the production dependencies, proto/ and
 * package.json.
 */

const run = promisify(execFile);

interface Instruction {
  op: string;
  rest: string;
}
interface Stage {
  from: string;
  name: string;
  steps: Instruction[];
}

/** Dockerfile -> global ARGs and stages (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...words] = line.split(/\s+/);
    const rest = words.join(' ');
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: m[1]!, name: m[2] ?? '', steps: [] });
    } else if (stages.length === 0 && op!.toUpperCase() === 'ARG') {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else {
      stages.at(-1)!.steps.push({ op: op!.toUpperCase(), rest });
    }
  }
  return { args, stages };
}

const DOCKERFILE = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const { args, stages } = parseDockerfile(DOCKERFILE);
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1)!;
const steps = (s: Stage | undefined, op: string) => (s?.steps ?? []).filter((i) => i.op === op).map((i) => i.rest);
const nodeImage = args.get('NODE_IMAGE') ?? '';
const nodeMajor = /^node:(\d+)-/.exec(nodeImage)?.[1];

/** The .dockerignore verdict for a path in the build context (later patterns win, `!` re-includes). */
function ignored(p: string): boolean {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let out = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pat = negated ? raw.slice(1) : raw;
    // `*` matches every top-level entry, and with it everything under one (Docker then sends a path under it only if
    // a later `!` pattern names it).
    const hit = pat === '*' ? true : pat.endsWith('/**') ? p.startsWith(`${pat.slice(0, -3)}/`) : p === pat;
    if (hit) out = !negated;
  }
  return out;
}

describe('Dockerfile', () => {
  it('builds on the Node.js LTS line on Debian slim, with the major pinned', () => {
    expect(nodeImage).toMatch(/^node:\d+-(bookworm|trixie)-slim$/);
    expect(Number(nodeMajor) % 2, 'LTS lines are even').toBe(0);
    for (const s of stages) expect(s.from).toBe('${NODE_IMAGE}');
  });

  it('compiles in a build stage with dev dependencies', () => {
    expect(build).toBeDefined();
    expect(steps(build, 'RUN').some((r) => r.startsWith('npm ci --no-audit --no-fund'))).toBe(true);
    expect(steps(build, 'RUN')).toContain('npm run build');
    expect(steps(build, 'WORKDIR')).toEqual(['/src']);
  });

  it('runs node /app/dist/main.js from /app', () => {
    expect(runtime.name).toBe('runtime');
    expect(steps(runtime, 'WORKDIR')).toEqual(['/app']);
    expect(JSON.parse(steps(runtime, 'ENTRYPOINT')[0] ?? 'null')).toEqual(['node', '/app/dist/main.js']);
  });

  it('installs the host tools the driver runs', () => {
    const apt = steps(runtime, 'RUN').find((r) => r.includes('apt-get install')) ?? '';
    for (const pkg of ['mount', 'util-linux', 'coreutils', 'e2fsprogs', 'xfsprogs']) expect(apt.split(/\s+/), pkg).toContain(pkg);
  });

  it('carries OCI labels naming the title, source, license and version', () => {
    const labels = steps(runtime, 'LABEL').join(' ');
    for (const l of ['title', 'source', 'licenses', 'version', 'description']) expect(labels).toContain(`org.opencontainers.image.${l}=`);
  });

  it('sends the build context every COPY needs and nothing else', () => {
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'proto/csi.proto', 'proto/csi.json', 'scripts/bundle.js']) {
      expect(ignored(p), p).toBe(false);
    }
    for (const p of ['node_modules', 'dist', '.git', '.tools', 'test', 'deploy', 'README.md']) expect(ignored(p), p).toBe(true);
  });
});

describe('the runtime image layout, built without Docker', () => {
  let app = '';
  let work = '';
  // The Node.js of the image if scripts/install-node.sh installed it, else the one running the tests.
  const nodeOfImage = path.join(ROOT, '.tools', `node-${nodeMajor}`, 'bin', 'node');
  const node = existsSync(nodeOfImage) ? nodeOfImage : process.execPath;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'bundle', 'driver.js'))) throw new Error('dist/ is missing: npm run build first');
    work = await mkdtemp(path.join(os.tmpdir(), 'hostpath-csi-image-'));
    app = path.join(work, 'app');
    await mkdir(app);
    for (const step of runtime.steps) {
      if (step.op === 'COPY') {
        const words = step.rest.split(/\s+/);
        const fromBuild = words[0] === '--from=build';
        const paths = fromBuild ? words.slice(1) : words;
        const dest = path.join(app, paths.at(-1)!);
        for (const src of paths.slice(0, -1)) {
          // The build stage compiles /src into /src/dist (and bundles into /src/dist/bundle): `npm run build` here.
          const local = fromBuild ? path.join(ROOT, path.relative('/src', src)) : path.join(ROOT, src);
          const target = paths.at(-1)!.endsWith('/') ? path.join(dest, path.basename(src)) : dest;
          await cp(local, target, { recursive: true });
        }
      } else if (step.op === 'RUN' && step.rest.includes('npm ci')) {
        // The install exactly as written, minus the `npm cache clean` after it, which would empty this machine's cache.
        const install = step.rest.replace(/\s*&&\s*npm cache clean --force\s*$/, '');
        expect(install).not.toContain('cache clean');
        await run('sh', ['-c', install], { cwd: app, env: { ...process.env, npm_config_prefer_offline: 'true' } }).catch(
          (err: { stderr?: string }) => {
            const why = (err.stderr ?? '').split('\n').filter((l) => l.startsWith('npm error')).slice(0, 6).join('\n');
            throw new Error(`the Dockerfile's \`${install}\` fails on package.json + package-lock.json, so docker build would too:\n${why}`);
          },
        );
      }
    }
  }, 180_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds dist, proto, package.json and production dependencies only', () => {
    for (const p of ['dist/main.js', 'dist/driver.js', 'proto/csi.json', 'proto/csi.proto', 'proto/loader-options.json', 'package.json']) {
      expect(existsSync(path.join(app, p)), p).toBe(true);
    }
    for (const dep of ['@grpc/grpc-js', '@grpc/proto-loader', 'pino', 'fs-extra']) {
      expect(existsSync(path.join(app, 'node_modules', dep)), dep).toBe(true);
    }
    for (const dev of ['typescript', 'vitest']) expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
  });

  it('prints its version', async () => {
    const { stdout } = await run(node, [path.join(app, 'dist', 'main.js'), '--version']);
    expect(stdout.trim()).toBe(`hostpath-csi ${PACKAGE_VERSION}`);
  });

  it('serves Probe on a socket and exits 0 on SIGTERM, removing its socket', async () => {
    const socket = path.join(work, 'csi.sock');
    const proc = spawn(
      node,
      [path.join(app, 'dist', 'main.js'), `--endpoint=unix://${socket}`, `--state-dir=${path.join(work, 'state')}`, '--node-id=image-layout', '--log-level=warn'],
      { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
    try {
      let ready = false;
      for (let i = 0; i < 200 && !ready; i++) {
        if (existsSync(socket)) {
          // A fresh channel per try: a failed one backs off before it reconnects.
          const clients = connectCsi(socket);
          ready = await call(clients.identity.Probe.bind(clients.identity), {})
            .then((r) => r.ready?.value === true)
            .catch(() => false)
            .finally(() => clients.close());
        }
        if (!ready) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ready, stderr).toBe(true);
      const clients = connectCsi(socket);
      const info = await call(clients.identity.GetPluginInfo.bind(clients.identity), {});
      clients.close();
      expect(info.name).toBe('hostpath.csi.dev');
      expect(info.vendor_version).toBe(PACKAGE_VERSION);
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(existsSync(socket)).toBe(false);
  }, 60_000);
});

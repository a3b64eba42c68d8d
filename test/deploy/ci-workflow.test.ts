import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './manifests';

/**
 * The release workflow cannot run here (no GitHub, no registry), so it is linted: actionlint checks the workflow
 * syntax, expressions, action inputs and job dependencies (scripts/install-deploy-tools.sh builds it).
 */
const ACTIONLINT = path.join(ROOT, '.tools', 'bin', 'actionlint');
const WORKFLOW = path.join(ROOT, '.github', 'workflows', 'ci.yaml');
const missing = existsSync(ACTIONLINT) ? '' : ' [SKIPPED: actionlint missing from .tools/bin: run scripts/install-deploy-tools.sh]';
const scratch = mkdtempSync(path.join(tmpdir(), 'hostpath-csi-actionlint-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function actionlint(file: string): { status: number; output: string } {
  try {
    // No config file: lint as actionlint's defaults say; -no-color keeps the output plain.
    return { status: 0, output: execFileSync(ACTIONLINT, ['-no-color', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string; stderr?: string };
    return { status: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe.skipIf(missing !== '')(`CI workflow${missing}`, () => {
  const text = readFileSync(WORKFLOW, 'utf8');

  it('lints clean with actionlint', () => {
    const { status, output } = actionlint(WORKFLOW);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it('is linted for real: a misspelt action input in a copy is reported', () => {
    const broken = path.join(scratch, 'broken.yaml');
    writeFileSync(broken, text.replace('platforms: linux/amd64,linux/arm64', 'platform: linux/amd64,linux/arm64'));
    const { status, output } = actionlint(broken);
    expect(status).toBe(1);
    expect(output).toContain('input "platform" is not defined');
  });

  it('runs scripts/test.sh, and on a v* tag pushes amd64 and arm64 images and the chart after the tests pass', () => {
    expect(text).toContain('bash scripts/test.sh');
    expect(text).toMatch(/tags: \['v\*'\]/);
    expect(text).toContain("if: startsWith(github.ref, 'refs/tags/v')");
    expect(text).toMatch(/release:[\s\S]*needs: test/);
    expect(text).toContain('platforms: linux/amd64,linux/arm64');
    expect(text).toMatch(/helm package deploy\/helm\/hostpath-csi/);
    expect(text).toMatch(/helm push /);
  });
});

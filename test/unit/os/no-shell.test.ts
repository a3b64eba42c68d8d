import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, sources } from '../../helpers/sources';
import { runCommand } from '../../../src/os/exec';

describe('no request reaches a shell', () => {
  it('only src/os/exec.ts starts processes, and only with execFile (argv, no shell)', async () => {
    const users: string[] = [];
    for (const file of await sources(SRC)) {
      const text = await readFile(file, 'utf8');
      if (/child_process/.test(text)) users.push(path.relative(SRC, file));
      expect(text, file).not.toMatch(/\bshell\s*:/);
      // Not RegExp.prototype.exec: a bare call of exec/execSync/spawn/spawnSync.
      expect(text, file).not.toMatch(/(?<![.\w])(execSync|spawnSync|exec|spawn)\s*\(/);
    }
    expect(users).toEqual(['os/exec.ts']);
    const exec = await readFile(path.join(SRC, 'os', 'exec.ts'), 'utf8');
    expect(exec).toMatch(/import \{ execFile \} from 'node:child_process'/);
  });

  it('runCommand passes shell syntax through as literal arguments', async () => {
    const out = await runCommand('printf', ['%s|', '$(id -u)', '`id`', '; echo injected', '&& echo injected']);
    expect(out).toBe('$(id -u)|`id`|; echo injected|&& echo injected|');
  });
});

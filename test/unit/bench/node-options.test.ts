import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageNodeOptions } from '../../../bench/drivers';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('the Node.js options production starts the driver with', () => {
  it('are read from the Dockerfile for the bench', () => {
    expect(imageNodeOptions('FROM x\nENV NODE_OPTIONS=--max-semi-space-size=1 --stack-trace-limit=5\n')).toBe('--max-semi-space-size=1 --stack-trace-limit=5');
    expect(imageNodeOptions('FROM x\nENV NODE_ENV=production\n')).toBe('');
  });

  it('are the same in scripts/run.sh as in the image', () => {
    const options = imageNodeOptions();
    expect(options).not.toBe('');
    const exec = readFileSync(path.join(ROOT, 'scripts', 'run.sh'), 'utf8').split('\n').find((l) => l.startsWith('exec node '));
    expect(exec).toBe(`exec node ${options} dist/bundle/main.js "$@"`);
  });
});

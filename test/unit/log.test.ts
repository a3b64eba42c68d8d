import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, nextLogLevel } from '../../src/log';
import { topLevelKeys as rawKeys } from '../helpers/log-keys';

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trimEnd());
      done();
    },
  });
  return { log: pino(loggerOptions('debug'), stream), lines };
}

describe('log lines', () => {
  it('carry an ISO-8601 time', () => {
    const { log, lines } = capture();
    log.info('hello');
    expect((JSON.parse(lines[0]!) as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('never repeat a key a child logger binds: an equal value is dropped, a different one becomes event.<key>', () => {
    const { log, lines } = capture();
    const call = log.child({ method: 'NodeStageVolume', reqId: 7, volumeId: 'v1' });
    call.info({ volumeId: 'v1', stagingPath: '/s' }, 'volume staged');
    call.warn({ volumeId: 'v1', name: 'pvc-1' }, 'rolled back');
    expect(rawKeys(lines[0]!)).toEqual(['level', 'time', 'name', 'method', 'reqId', 'volumeId', 'stagingPath', 'msg']);
    expect(rawKeys(lines[1]!)).toEqual(['level', 'time', 'name', 'method', 'reqId', 'volumeId', 'event.name', 'msg']);
    expect(JSON.parse(lines[1]!)).toMatchObject({ name: 'hostpath-csi', 'event.name': 'pvc-1' });
  });

  it('keep an error logged beside a bound key', () => {
    const { log, lines } = capture();
    log.child({ volumeId: 'v1' }).error({ err: new Error('boom'), volumeId: 'v1' }, 'failed');
    expect(rawKeys(lines[0]!).filter((k) => k === 'volumeId')).toHaveLength(1);
    expect((JSON.parse(lines[0]!) as { err: { message: string } }).err.message).toBe('boom');
  });
});

describe('nextLogLevel (SIGUSR2)', () => {
  it('steps to the next more verbose level and wraps from trace to the configured level', () => {
    const seen = ['info'];
    for (let i = 0; i < 3; i++) seen.push(nextLogLevel(seen[seen.length - 1]!, 'info'));
    expect(seen).toEqual(['info', 'debug', 'trace', 'info']);
    expect(nextLogLevel('trace', 'warn')).toBe('warn');
    expect(nextLogLevel('error', 'error')).toBe('warn');
    expect(nextLogLevel('trace', 'trace')).toBe('info');
    expect(nextLogLevel('silent', 'silent')).toBe('info');
  });
});

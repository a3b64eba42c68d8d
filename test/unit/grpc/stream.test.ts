import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../src/errors';
import { serverStream, type StreamHandler } from '../../../src/grpc/stream';
import { Gate, type AdapterContext } from '../../../src/grpc/unary';
import { silentLogger } from '../../helpers/fakes';

function context(ready: boolean, draining = false): AdapterContext {
  const gate = new Gate();
  gate.ready = ready;
  gate.draining = draining;
  return { log: silentLogger(), gate };
}

/** A server stream that records what the adapter wrote; `full` makes write() report backpressure. */
class FakeCall extends EventEmitter {
  readonly request = {};
  cancelled = false;
  full = false;
  written: number[] = [];
  ended = false;
  errors: Array<{ code: number; details: string }> = [];
  constructor() {
    super();
    this.on('error', (e: { code: number; details: string }) => this.errors.push(e));
  }
  write(m: number): boolean {
    this.written.push(m);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
}

async function run(ctx: AdapterContext, handler: StreamHandler<unknown, number>, call = new FakeCall()): Promise<FakeCall> {
  serverStream(ctx, 'Test', handler)(call as unknown as ServerWritableStream<unknown, number>);
  for (let i = 0; i < 5; i++) await nextMacrotask();
  return call;
}

describe('server-stream adapter', () => {
  it('writes every message in order, then ends the stream', async () => {
    const call = await run(context(true), async () => [1, 2, 3]);
    expect(call).toMatchObject({ written: [1, 2, 3], ended: true, errors: [] });
  });

  it('maps a domain error through the status table, writing nothing', async () => {
    const call = await run(context(true), async () => {
      throw new NotFoundError('snapshot s does not exist');
    });
    expect(call.written).toEqual([]);
    expect(call.errors.map((e) => [e.code, e.details])).toEqual([[status.NOT_FOUND, 'snapshot s does not exist']]);
  });

  it('answers UNAVAILABLE before the driver is ready and while it drains', async () => {
    for (const ctx of [context(false), context(true, true)]) {
      expect((await run(ctx, async () => [1])).errors.map((e) => e.code)).toEqual([status.UNAVAILABLE]);
    }
  });

  it('waits for drain under backpressure and stops writing once the client cancels', async () => {
    const call = new FakeCall();
    call.full = true;
    await run(context(true), async () => [1, 2, 3], call);
    expect(call.written).toEqual([1]);
    call.emit('drain');
    await nextMacrotask();
    expect(call.written).toEqual([1, 2]);
    call.cancelled = true;
    call.emit('cancelled');
    await nextMacrotask();
    expect(call.written).toEqual([1, 2]);
    expect(call.ended).toBe(false);
  });

  it('aborts the handler signal when the client cancels, so a long computation can stop', async () => {
    const call = new FakeCall();
    let seen: AbortSignal | null = null;
    await run(context(true), async (_req, _log, signal) => {
      seen = signal;
      return [];
    }, call);
    expect(seen!.aborted).toBe(false);
    call.emit('cancelled');
    expect(seen!.aborted).toBe(true);
  });
});

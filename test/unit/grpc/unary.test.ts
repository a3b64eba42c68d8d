import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError } from '../../../src/errors';
import { Gate, unary, type AdapterContext, type Handler, type UnaryOptions } from '../../../src/grpc/unary';
import { redactSecrets } from '../../../src/log';
import { capturingLogger, createVolumeRequest, expectCode, invoke, silentLogger } from '../../helpers/fakes';

function context(ready: boolean, draining = false, log = silentLogger()): AdapterContext {
  const gate = new Gate();
  gate.ready = ready;
  gate.draining = draining;
  return { log, gate };
}

const ok: Handler<unknown, { ok: boolean }> = async () => ({ ok: true });

/** Calls the adapter and collects every callback invocation, waiting long enough for a second one to show. */
async function callbacks<Res>(ctx: AdapterContext, handler: Handler<unknown, Res>, options?: UnaryOptions) {
  const calls: Array<Parameters<sendUnaryData<Res>>> = [];
  unary(ctx, 'Test', handler, options)({ request: {} } as ServerUnaryCall<unknown, Res>, (...args) => calls.push(args));
  for (let i = 0; i < 5; i++) await nextMacrotask();
  return calls;
}

describe('unary adapter: outcomes', () => {
  it('answers the handler response', async () => {
    await expect(invoke(unary(context(true), 'Test', ok), {})).resolves.toEqual({ ok: true });
  });

  it('maps a domain error to its code and message', async () => {
    const failing: Handler<unknown, never> = async () => {
      throw new AlreadyExistsError('volume "x" exists with another size');
    };
    const failure = await expectCode(invoke(unary(context(true), 'Test', failing), {}), status.ALREADY_EXISTS);
    expect(failure.details).toBe('volume "x" exists with another size');
  });

  it('answers INTERNAL, not CANCELLED, for a child-process error with exit status 1 in `code`', async () => {
    const failing: Handler<unknown, never> = async () => {
      throw Object.assign(new Error('Command failed: umount /x'), { code: 1 });
    };
    const failure = await expectCode(invoke(unary(context(true), 'Test', failing), {}), status.INTERNAL);
    expect(failure.details).not.toContain('umount');
  });

  it('answers INTERNAL for a handler that throws synchronously', async () => {
    const throwsSync = (() => {
      throw new Error('sync');
    }) as unknown as Handler<unknown, never>;
    await expectCode(invoke(unary(context(true), 'Test', throwsSync), {}), status.INTERNAL);
  });

  it('calls the callback exactly once on success', async () => {
    const calls = await callbacks(context(true), ok);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBeNull();
  });

  it('calls the callback exactly once on failure', async () => {
    const calls = await callbacks(context(true), async () => {
      throw new NotFoundError('gone');
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toMatchObject({ code: status.NOT_FOUND });
  });
});

describe('unary adapter: the gate', () => {
  it('answers UNAVAILABLE before the driver is ready, without running the handler', async () => {
    let ran = false;
    const handler: Handler<unknown, object> = async () => {
      ran = true;
      return {};
    };
    await expectCode(invoke(unary(context(false), 'Test', handler), {}), status.UNAVAILABLE);
    expect(ran).toBe(false);
  });

  it('serves a servesBeforeReady call before the driver is ready', async () => {
    await expect(invoke(unary(context(false), 'Probe', ok, { servesBeforeReady: true }), {})).resolves.toEqual({ ok: true });
  });

  it('answers UNAVAILABLE while draining', async () => {
    await expectCode(invoke(unary(context(true, true), 'Test', ok), {}), status.UNAVAILABLE);
  });

  it('answers UNAVAILABLE while draining even for servesBeforeReady calls', async () => {
    await expectCode(invoke(unary(context(true, true), 'Probe', ok, { servesBeforeReady: true }), {}), status.UNAVAILABLE);
  });
});

describe('secrets in logs', () => {
  const SECRET = 'hunter2-s3cr3t-value';

  it('never writes a secret value at debug level', async () => {
    const capture = capturingLogger('debug');
    const request = createVolumeRequest('pvc-1', { secrets: { password: SECRET, token: SECRET } });
    await invoke(unary(context(true, false, capture.log), 'CreateVolume', async () => ({})), request);
    expect(capture.text()).toContain('"request"');
    expect(capture.text()).toContain('[REDACTED]');
    expect(capture.text()).not.toContain(SECRET);
  });

  it('keeps the secret keys visible and other fields intact', async () => {
    const capture = capturingLogger('debug');
    const request = createVolumeRequest('pvc-1', { secrets: { password: SECRET } });
    await invoke(unary(context(true, false, capture.log), 'CreateVolume', async () => ({})), request);
    const line = capture.lines.map((l) => JSON.parse(l) as { msg: string; request?: Record<string, unknown> }).find((l) => l.msg === 'request');
    expect(line?.request).toMatchObject({ name: 'pvc-1', secrets: { password: '[REDACTED]' } });
  });

  it('redacts `secrets` at any depth and in arrays', () => {
    const out = redactSecrets({ a: [{ secrets: { k: SECRET } }], b: { c: { secrets: { k2: SECRET } } } });
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out).toEqual({ a: [{ secrets: { k: '[REDACTED]' } }], b: { c: { secrets: { k2: '[REDACTED]' } } } });
  });

  it('does not modify the request it redacts', () => {
    const request = { secrets: { k: SECRET } };
    redactSecrets(request);
    expect(request.secrets.k).toBe(SECRET);
  });

  it('logs the outcome code of a failed call at info', async () => {
    const capture = capturingLogger('info');
    const failing: Handler<unknown, never> = async () => {
      throw new NotFoundError('gone');
    };
    await invoke(unary(context(true, false, capture.log), 'DeleteVolume', failing), {}).catch(() => undefined);
    const answered = capture.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'answered');
    expect(answered).toMatchObject({ method: 'DeleteVolume', code: 'NOT_FOUND' });
  });
});

describe('unary adapter: the call observer', () => {
  function observed(ready: boolean): { ctx: AdapterContext; events: string[] } {
    const events: string[] = [];
    const ctx: AdapterContext = { ...context(ready), observer: { callStarted: (method) => (events.push(`start ${method}`), (code) => events.push(`end ${method} ${code}`)) } };
    return { ctx, events };
  }

  it('is told of the start before the handler runs and of the OK answer after it', async () => {
    const { ctx, events } = observed(true);
    const answer = invoke(unary(ctx, 'CreateVolume', async () => {
      events.push('handler');
      return { ok: true };
    }), {});
    await answer;
    expect(events).toEqual(['start CreateVolume', 'handler', 'end CreateVolume OK']);
  });

  it('gets the mapped gRPC code name of a failure, also one the gate answers', async () => {
    const failing = observed(true);
    await expectCode(invoke(unary(failing.ctx, 'DeleteVolume', async () => {
      throw new NotFoundError('gone');
    }), {}), status.NOT_FOUND);
    expect(failing.events).toEqual(['start DeleteVolume', 'end DeleteVolume NOT_FOUND']);
    const starting = observed(false);
    await expectCode(invoke(unary(starting.ctx, 'NodeStageVolume', ok), {}), status.UNAVAILABLE);
    expect(starting.events).toEqual(['start NodeStageVolume', 'end NodeStageVolume UNAVAILABLE']);
  });
});

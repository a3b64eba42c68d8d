import type { handleServerStreamingCall, ServerWritableStream } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { UnavailableError } from '../errors';
import { redactSecrets, type Logger } from '../log';
import { toStatus } from './status';
import type { AdapterContext } from './unary';

/**
 * A server-streaming handler: validates and computes, then hands back the messages to write, produced lazily.
 * `signal` aborts when the client cancels, so a long computation can stop early.
 */
export type StreamHandler<Req, Res> = (request: Req, log: Logger, signal: AbortSignal) => Promise<Iterable<Res>>;

let nextRequestId = 0;

/** Resolves when the stream can take more (backpressure) or the client has gone. */
function drained<Req, Res>(call: ServerWritableStream<Req, Res>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

async function writeAll<Req, Res>(ctx: AdapterContext, handler: StreamHandler<Req, Res>, call: ServerWritableStream<Req, Res>, log: Logger): Promise<number> {
  if (ctx.gate.draining) throw new UnavailableError('the driver is shutting down');
  if (!ctx.gate.ready) throw new UnavailableError('the driver is still starting (reconciling state)');
  const cancelled = new AbortController();
  call.once('cancelled', () => cancelled.abort());
  let sent = 0;
  for (const message of await handler(call.request, log, cancelled.signal)) {
    if (call.cancelled) break;
    sent++;
    if (!call.write(message)) await drained(call);
  }
  return sent;
}

/**
 * The server-streaming twin of unary() (src/grpc/unary.ts): the only code that writes to or ends a stream. Errors go
 * through the same status table; a client that cancels stops the writing (nothing more is computed for it).
 */
export function serverStream<Req, Res>(ctx: AdapterContext, method: string, handler: StreamHandler<Req, Res>): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const started = process.hrtime.bigint();
    const finished = ctx.observer?.callStarted(method);
    const log = ctx.log.child({ method, reqId: ++nextRequestId });
    log.debug({ request: redactSecrets(call.request) }, 'request');
    writeAll(ctx, handler, call, log).then(
      (messages) => {
        const code = call.cancelled ? 'CANCELLED' : 'OK';
        log.info({ code, messages, ms: elapsedMs(started) }, 'answered');
        finished?.(code);
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        const mapped = toStatus(err);
        if (mapped.unexpected) log.error({ err, ms: elapsedMs(started) }, 'failed unexpectedly');
        log[mapped.unexpected ? 'error' : 'info']({ code: status[mapped.code], message: mapped.message, ms: elapsedMs(started) }, 'answered');
        finished?.(status[mapped.code]);
        call.emit('error', { code: mapped.code, details: mapped.message, metadata: new Metadata() });
      },
    );
  };
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n) / 1000;
}

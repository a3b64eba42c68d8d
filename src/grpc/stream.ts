import type { handleServerStreamingCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '../log';
import { answered, checkGate, failed, openCall, type AdapterContext } from './unary';

/**
 * A server-streaming handler: validates and computes, then hands back the messages to write, produced lazily.
 * `signal` aborts when the client cancels, so a long computation can stop early.
 */
export type StreamHandler<Req, Res> = (request: Req, log: Logger, signal: AbortSignal) => Promise<Iterable<Res>>;

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
  checkGate(ctx.gate);
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
    const scope = openCall(ctx, method, call.request);
    writeAll(ctx, handler, call, scope.log).then(
      (messages) => {
        answered(scope, 'info', { messages }, call.cancelled ? 'CANCELLED' : 'OK');
        if (!call.cancelled) call.end();
      },
      (err: unknown) => call.emit('error', failed(scope, 'info', err)),
    );
  };
}

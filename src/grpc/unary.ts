import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import { UnavailableError } from '../errors';
import { redactSecrets, type Logger } from '../log';
import { toStatus } from './status';

/** Whether the driver serves calls: not before start-up reconciliation ends, not after shutdown begins. */
export class Gate {
  ready = false;
  draining = false;
}

/**
 * Told of every call the adapter runs (src/metrics/ counts them). callStarted returns the function the adapter calls
 * once with the call's gRPC code name ('OK', 'NOT_FOUND', ...) when it answers.
 */
export interface CallObserver {
  callStarted(method: string): (code: string) => void;
}

export interface AdapterContext {
  readonly log: Logger;
  readonly gate: Gate;
  readonly observer?: CallObserver;
}

export interface UnaryOptions {
  /** Identity calls answer before the driver is ready (Probe must be able to say "not ready"). */
  servesBeforeReady?: boolean;
  /** Probe is called every few seconds: its outcome goes to trace, not info. */
  quiet?: boolean;
}

export type Handler<Req, Res> = (request: Req, log: Logger) => Promise<Res>;

let nextRequestId = 0;

function volumeIdOf(request: unknown): string | undefined {
  const id = (request as { volume_id?: unknown } | null)?.volume_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * The only code that calls a gRPC callback. It awaits the handler, maps every error through the one status table,
 * and logs method, code and duration on a per-call child logger.
 */
export function unary<Req, Res>(ctx: AdapterContext, method: string, handler: Handler<Req, Res>, options: UnaryOptions = {}): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = process.hrtime.bigint();
    const finished = ctx.observer?.callStarted(method);
    const log = ctx.log.child({ method, reqId: ++nextRequestId, volumeId: volumeIdOf(call.request) });
    const outcomeLevel = options.quiet ? 'trace' : 'info';
    log.debug({ request: redactSecrets(call.request) }, 'request');
    run(ctx, handler, call.request, log, options).then(
      (response) => {
        log[outcomeLevel]({ code: 'OK', ms: elapsedMs(started) }, 'answered');
        finished?.('OK');
        callback(null, response);
      },
      (err: unknown) => {
        const mapped = toStatus(err);
        if (mapped.unexpected) log.error({ err, ms: elapsedMs(started) }, 'failed unexpectedly');
        log[mapped.unexpected ? 'error' : outcomeLevel]({ code: status[mapped.code], message: mapped.message, ms: elapsedMs(started) }, 'answered');
        finished?.(status[mapped.code]);
        callback({ code: mapped.code, details: mapped.message, metadata: new Metadata() });
      },
    );
  };
}

async function run<Req, Res>(ctx: AdapterContext, handler: Handler<Req, Res>, request: Req, log: Logger, options: UnaryOptions): Promise<Res> {
  if (ctx.gate.draining) throw new UnavailableError('the driver is shutting down');
  if (!ctx.gate.ready && !options.servesBeforeReady) throw new UnavailableError('the driver is still starting (reconciling state)');
  return handler(request, log);
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n) / 1000;
}

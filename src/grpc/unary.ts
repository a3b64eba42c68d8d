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

let lastRequestId = 0;

/** What the unary and streaming adapters share about one call: its logger, clock and metrics hook. */
export interface CallScope {
  readonly log: Logger;
  readonly started: bigint;
  readonly finished: ((code: string) => void) | undefined;
}

/** Opens a call's scope: one request-ID sequence for every kind of call, so log lines never share an ID. */
export function openCall(ctx: AdapterContext, method: string, request: unknown, fields: Record<string, unknown> = {}): CallScope {
  const log = ctx.log.child({ method, reqId: ++lastRequestId, ...fields });
  // The redacted copy is a deep copy of the request: made only when the line is written, not on every call.
  if (log.isLevelEnabled('debug')) log.debug({ request: redactSecrets(request) }, 'request');
  return { log, started: process.hrtime.bigint(), finished: ctx.observer?.callStarted(method) };
}

/** Refuses a call while start-up reconciles (unless it serves before ready) and once shutdown begins. */
export function checkGate(gate: Gate, servesBeforeReady = false): void {
  if (gate.draining) throw new UnavailableError('the driver is shutting down');
  if (!gate.ready && !servesBeforeReady) throw new UnavailableError('the driver is still starting (reconciling state)');
}

/** Logs and counts a call's success. */
export function answered(scope: CallScope, level: 'info' | 'trace', fields: Record<string, unknown> = {}, code = 'OK'): void {
  scope.log[level]({ code, ...fields, ms: elapsedMs(scope.started) }, 'answered');
  scope.finished?.(code);
}

/** Maps a call's error through the one status table, logs and counts it, and returns what to send. */
export function failed(scope: CallScope, level: 'info' | 'trace', err: unknown): { code: status; details: string; metadata: Metadata } {
  const mapped = toStatus(err);
  if (mapped.unexpected) scope.log.error({ err, ms: elapsedMs(scope.started) }, 'failed unexpectedly');
  scope.log[mapped.unexpected ? 'error' : level]({ code: status[mapped.code], message: mapped.message, ms: elapsedMs(scope.started) }, 'answered');
  scope.finished?.(status[mapped.code]);
  return { code: mapped.code, details: mapped.message, metadata: new Metadata() };
}

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
    const scope = openCall(ctx, method, call.request, { volumeId: volumeIdOf(call.request) });
    const level = options.quiet ? 'trace' : 'info';
    run(ctx, handler, call.request, scope.log, options).then(
      (response) => {
        answered(scope, level);
        callback(null, response);
      },
      (err: unknown) => callback(failed(scope, level, err)),
    );
  };
}

async function run<Req, Res>(ctx: AdapterContext, handler: Handler<Req, Res>, request: Req, log: Logger, options: UnaryOptions): Promise<Res> {
  checkGate(ctx.gate, options.servesBeforeReady);
  return handler(request, log);
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n) / 1000;
}

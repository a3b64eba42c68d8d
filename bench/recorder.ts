import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';

/** A check on one answer: returns a problem, or null when the answer is what the request asked for. */
export type Validator<Res> = (res: Res) => string | null;

export interface Failure {
  method: string;
  /** gRPC status name, or INVALID_ANSWER when the call succeeded with a wrong answer. */
  code: string;
  message: string;
}

/**
 * Times every RPC of a run and validates every answer. A failed call or a wrong answer is counted and kept (never
 * hidden, never retried silently); only calls that succeeded with a valid answer contribute latencies.
 */
export class Recorder {
  readonly latencies = new Map<string, number[]>();
  readonly failures: Failure[] = [];
  calls = 0;

  async rpc<Res>(method: string, send: () => Promise<Res>, validate: Validator<Res> = () => null): Promise<Res | null> {
    this.calls++;
    const started = process.hrtime.bigint();
    let res: Res;
    try {
      res = await send();
    } catch (err) {
      const code = (err as Partial<ServiceError>).code;
      this.failures.push({ method, code: typeof code === 'number' ? status[code] ?? String(code) : 'CLIENT_ERROR', message: (err as Error).message });
      return null;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const problem = validate(res);
    if (problem !== null) {
      this.failures.push({ method, code: 'INVALID_ANSWER', message: problem });
      return null;
    }
    let list = this.latencies.get(method);
    if (!list) this.latencies.set(method, (list = []));
    list.push(ms);
    return res;
  }

  /** Counts a failure found outside an RPC (a volume missing from a list, data that did not round-trip). */
  fail(method: string, message: string): void {
    this.failures.push({ method, code: 'INVALID_ANSWER', message });
  }

  samples(method: string): number[] {
    return this.latencies.get(method) ?? [];
  }
}

/** Runs `count` jobs with at most `concurrency` in flight; job i gets its index. */
export async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export function seconds(startedNs: bigint): number {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}

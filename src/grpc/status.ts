import { status } from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  CsiError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  noSpaceCode,
  NotFoundError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
} from '../errors';

type ErrorClass = abstract new (...args: never[]) => CsiError;

/** The one table that turns domain errors into gRPC status codes. */
const CODE_BY_ERROR: ReadonlyArray<readonly [ErrorClass, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [OutOfRangeError, status.OUT_OF_RANGE],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
  [AbortedError, status.ABORTED],
  [UnimplementedError, status.UNIMPLEMENTED],
  [UnavailableError, status.UNAVAILABLE],
  [InternalError, status.INTERNAL],
];

export interface MappedStatus {
  code: status;
  message: string;
  /** True when the error was not one of ours: the client gets a short message, the log gets the details. */
  unexpected: boolean;
}

/**
 * Maps any thrown value to the status sent to the client. Anything that is not a CsiError becomes INTERNAL with a
 * short message: a raw child-process error carries its exit status in `code`, which grpc-js would otherwise send
 * as a (wrong) status code.
 */
export function toStatus(err: unknown): MappedStatus {
  for (const [cls, code] of CODE_BY_ERROR) {
    if (err instanceof cls) return { code, message: (err as Error).message, unexpected: code === status.INTERNAL };
  }
  const full = noSpaceCode(err);
  if (full !== null) return { code: status.RESOURCE_EXHAUSTED, message: noSpaceMessage(full, err), unexpected: false };
  return { code: status.INTERNAL, message: 'internal error (details in the driver log)', unexpected: true };
}

/**
 * A full filesystem is a limit reached, not a driver fault (CSI spec: RESOURCE_EXHAUSTED, "not enough capacity"):
 * the message names where, so an operator knows which filesystem to free.
 */
function noSpaceMessage(code: 'ENOSPC' | 'EDQUOT', err: unknown): string {
  const where = typeof (err as { path?: unknown }).path === 'string' ? (err as { path: string }).path : null;
  const what = code === 'ENOSPC' ? 'no space left' : 'disk quota exceeded';
  if (where !== null) return `${what} on the filesystem holding ${where} (${code}); free space there and retry`;
  return `${what} (${code}): ${err instanceof Error ? err.message.slice(0, 300) : 'a filesystem is full'}`;
}

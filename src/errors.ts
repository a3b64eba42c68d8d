/**
 * Domain errors. Each class names one kind of failure and maps to exactly one gRPC status code in
 * src/grpc/status.ts; handlers throw these and never touch status codes themselves.
 */
export abstract class CsiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request field is missing or malformed (bad ID, path, size, capability). */
export class InvalidArgumentError extends CsiError {}

/** The volume, snapshot, node or path named in the request does not exist. */
export class NotFoundError extends CsiError {}

/** An object with this name exists but is incompatible with the request (CSI idempotency rule). */
export class AlreadyExistsError extends CsiError {}

/** The request is valid but the object is in a state that forbids it (e.g. published elsewhere, not staged). */
export class FailedPreconditionError extends CsiError {}

/** A requested size is outside what the driver can provide (e.g. above --max-volume-size). */
export class OutOfRangeError extends CsiError {}

/** A limit is reached: the node's attach limit, free space, or topology that cannot be satisfied. */
export class ResourceExhaustedError extends CsiError {}

/** Another call is already operating on the same object, or a pagination token is not valid; callers retry. */
export class AbortedError extends CsiError {}

/** The RPC or option is not implemented by this driver (or not in this mode). */
export class UnimplementedError extends CsiError {}

/** The driver is starting up or shutting down and cannot serve the call yet. */
export class UnavailableError extends CsiError {}

/** The driver failed at something it should have been able to do (an OS call failed unexpectedly). */
export class InternalError extends CsiError {}

/**
 * ENOSPC or EDQUOT if `err` (or what it was caused by) says a filesystem is full: an OS error's `code`, or a child
 * process that printed the C library's message for it (cp, mkfs, truncate). Else null. src/grpc/status.ts maps these
 * to RESOURCE_EXHAUSTED; src/state/space-reserve.ts spends its reserve on them.
 */
export function noSpaceCode(err: unknown): 'ENOSPC' | 'EDQUOT' | null {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, stderr } = e as { code?: unknown; stderr?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT') return code;
    if (typeof stderr === 'string' && /No space left on device/.test(stderr)) return 'ENOSPC';
    if (typeof stderr === 'string' && /Disk quota exceeded/.test(stderr)) return 'EDQUOT';
  }
  return null;
}

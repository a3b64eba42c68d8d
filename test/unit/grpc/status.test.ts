import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
} from '../../../src/errors';
import { toStatus } from '../../../src/grpc/status';
import { CommandError } from '../../../src/os/exec';

describe('toStatus', () => {
  it.each([
    [new InvalidArgumentError('m'), status.INVALID_ARGUMENT],
    [new NotFoundError('m'), status.NOT_FOUND],
    [new AlreadyExistsError('m'), status.ALREADY_EXISTS],
    [new FailedPreconditionError('m'), status.FAILED_PRECONDITION],
    [new OutOfRangeError('m'), status.OUT_OF_RANGE],
    [new ResourceExhaustedError('m'), status.RESOURCE_EXHAUSTED],
    [new AbortedError('m'), status.ABORTED],
    [new UnimplementedError('m'), status.UNIMPLEMENTED],
    [new UnavailableError('m'), status.UNAVAILABLE],
    [new InternalError('m'), status.INTERNAL],
  ])('maps %s to its code with its message', (err, code) => {
    expect(toStatus(err)).toEqual({ code, message: 'm', unexpected: code === status.INTERNAL });
  });

  it('turns a plain Error into INTERNAL without its message', () => {
    const mapped = toStatus(new Error('EACCES: /var/lib/secret-path'));
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.message).not.toContain('secret-path');
    expect(mapped.unexpected).toBe(true);
  });

  it('turns an error carrying a numeric exit status in `code` into INTERNAL, not that number', () => {
    const childError = Object.assign(new Error('Command failed: mount'), { code: 1 });
    expect(toStatus(childError).code).toBe(status.INTERNAL);
  });

  it('turns a non-Error object with a numeric code into INTERNAL', () => {
    expect(toStatus({ code: status.NOT_FOUND, details: 'x' }).code).toBe(status.INTERNAL);
  });

  it('turns a CommandError into INTERNAL', () => {
    expect(toStatus(new CommandError('mount --bind a b', 32, 'mount: permission denied')).code).toBe(status.INTERNAL);
  });

  it.each([[undefined], [null], ['a string'], [42]])('turns the thrown value %j into INTERNAL', (thrown) => {
    expect(toStatus(thrown).code).toBe(status.INTERNAL);
  });
});

describe('toStatus of a full filesystem (issue 13, defect 1)', () => {
  const errno = (code: string, path?: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code, ...(path ? { path } : {}) });

  it('maps ENOSPC to RESOURCE_EXHAUSTED naming the filesystem that holds the file', () => {
    const s = toStatus(errno('ENOSPC', '/var/lib/hostpath-csi/records/volumes/x.json.tmp-1-2'));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.message).toBe('no space left on the filesystem holding /var/lib/hostpath-csi/records/volumes/x.json.tmp-1-2 (ENOSPC); free space there and retry');
    expect(s.unexpected).toBe(false);
  });

  it('maps EDQUOT to RESOURCE_EXHAUSTED', () => {
    const s = toStatus(errno('EDQUOT', '/data/f'));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.message).toMatch(/^disk quota exceeded on the filesystem holding \/data\/f/);
  });

  it('maps a child process that ran out of space (cp, mkfs) to RESOURCE_EXHAUSTED', () => {
    const s = toStatus(new CommandError('cp -a x y', 1, "cp: error writing 'y/f': No space left on device"));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.message).toContain('No space left on device');
  });

  it('finds ENOSPC as the cause of a wrapping error', () => {
    expect(toStatus(new Error('copy failed', { cause: errno('ENOSPC', '/s/f') })).code).toBe(status.RESOURCE_EXHAUSTED);
  });
});

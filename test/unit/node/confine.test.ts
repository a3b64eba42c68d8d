/**
 * The symlink half of path confinement (src/node/confine.ts) on the in-memory host filesystem: no real directory,
 * the same resolution rules (test/unit/os/host-fs.test.ts holds the fake to the real one).
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toStatus } from '../../../src/grpc/status';
import { confineToAllowedRoot } from '../../../src/node/confine';
import { MemoryHostFs } from '../../helpers/memory-fs';

const ROOT = '/var/lib/kubelet';

function host(): MemoryHostFs {
  const fs = new MemoryHostFs();
  fs.addDir(`${ROOT}/pods/p1/volumes`);
  fs.addDir('/outside');
  return fs;
}

async function statusOf(p: Promise<void>): Promise<{ code: status; message: string } | 'ok'> {
  return p.then(() => 'ok' as const, (err: unknown) => toStatus(err));
}

describe('confineToAllowedRoot', () => {
  it('accepts a path whose existing part is a real directory under the root', async () => {
    expect(await statusOf(confineToAllowedRoot(host(), 'target_path', `${ROOT}/pods/p1/volumes/new/mount`, ROOT))).toBe('ok');
  });

  it('refuses, INVALID_ARGUMENT, a path through a symlink that leads out of the root', async () => {
    const fs = host();
    fs.addSymlink(`${ROOT}/pods/p1/volumes/escape`, '/outside');
    const answer = await statusOf(confineToAllowedRoot(fs, 'target_path', `${ROOT}/pods/p1/volumes/escape/mount`, ROOT));
    expect(answer).toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringContaining('resolves outside the allowed root') });
  });

  it('refuses a dangling symlink: where it points is unknown', async () => {
    const fs = host();
    fs.addSymlink(`${ROOT}/pods/p1/volumes/dangling`, '/nowhere/at/all');
    const answer = await statusOf(confineToAllowedRoot(fs, 'staging_target_path', `${ROOT}/pods/p1/volumes/dangling`, ROOT));
    expect(answer).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('refuses a symlink that resolves to the root itself (not strictly under it)', async () => {
    const fs = host();
    fs.addSymlink(`${ROOT}/pods/up`, ROOT);
    expect(await statusOf(confineToAllowedRoot(fs, 'target_path', `${ROOT}/pods/up`, ROOT))).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('accepts a symlink that stays under the root, and a root that is itself a symlink', async () => {
    const fs = host();
    fs.addSymlink(`${ROOT}/pods/p1/volumes/inside`, `${ROOT}/pods/p1`);
    fs.addSymlink('/kubelet-link', ROOT);
    expect(await statusOf(confineToAllowedRoot(fs, 'target_path', `${ROOT}/pods/p1/volumes/inside/x`, ROOT))).toBe('ok');
    expect(await statusOf(confineToAllowedRoot(fs, 'target_path', '/kubelet-link/pods/p1/volumes/x', '/kubelet-link'))).toBe('ok');
  });
});

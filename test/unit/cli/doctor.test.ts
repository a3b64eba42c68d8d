import { describe, expect, it } from 'vitest';
import { kindVerdicts, runDoctor, TOOLS, type HostFacts } from '../../../src/cli/doctor';
import type { MountEntry } from '../../../src/os/mount';

const GiB = 1024n ** 3n;
const allTools = Object.fromEntries(TOOLS.map((t) => [t, `/usr/bin/${t}`]));
const xfsMount: MountEntry = { mountPoint: '/var/lib', root: '/', device: '8:1', fsType: 'xfs', source: '/dev/sda1', options: ['rw'], superOptions: ['rw', 'prjquota'] };

function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    stateDir: '/var/lib/hostpath-csi',
    stateDirInfo: { isDirectory: true, mode: 0o700 },
    mount: xfsMount,
    fs: { availableBytes: 50n * GiB, totalBytes: 100n * GiB, totalInodes: 1000n, freeInodes: 900n },
    capabilities: 1n << 21n,
    kernelFilesystems: new Set(['ext4', 'xfs']),
    loopControl: true,
    tools: allTools,
    run: async () => 'meta-data=/dev/sda1 isize=512 agcount=4\n         =                       reflink=1    bigtime=1\n',
    ...over,
  };
}

const works = (f: HostFacts): Record<string, boolean> => Object.fromEntries(kindVerdicts(f).map((k) => [k.kind.split(' (')[0]!, k.works]));

describe('doctor', () => {
  it('on XFS with prjquota, reflink, CAP_SYS_ADMIN and every tool: every kind works and every check is ok', async () => {
    const { checks, kinds } = await runDoctor(facts());
    expect(checks.filter((c) => c.verdict !== 'ok')).toEqual([]);
    expect(kinds.every((k) => k.works)).toBe(true);
  });

  it('without CAP_SYS_ADMIN nothing that mounts works, and the capabilities check fails', async () => {
    const f = facts({ capabilities: 0n });
    expect(works(f)).toEqual({ dir: false, quota: false, 'image ext4': false, 'image xfs': false, block: false });
    expect((await runDoctor(f)).checks.find((c) => c.name === 'capabilities')?.verdict).toBe('fail');
  });

  it('ext4 without prjquota and no loop device support: only dir works, each other kind says why', () => {
    const ext4: MountEntry = { ...xfsMount, fsType: 'ext4', superOptions: ['rw'] };
    const v = kindVerdicts(facts({ mount: ext4, loopControl: false }));
    expect(v.map((k) => k.works)).toEqual([true, false, false, false, false]);
    expect(v[1]!.why).toBe('the state directory\'s filesystem (ext4 at /var/lib) is not mounted with prjquota');
    expect(v[4]!.why).toBe('/dev/loop-control is missing (no loop device support, or /dev not mounted)');
  });

  it('a missing mkfs.xfs stops image xfs only', () => {
    expect(works(facts({ tools: { ...allTools, 'mkfs.xfs': null } }))).toEqual({ dir: true, quota: true, 'image ext4': true, 'image xfs': false, block: true });
  });

  it('warns on XFS without reflink, on low space and on a state directory that is not 0700', async () => {
    const { checks } = await runDoctor(facts({ run: async () => 'reflink=0', fs: { availableBytes: GiB / 2n, totalBytes: 100n * GiB, totalInodes: 1000n, freeInodes: 900n }, stateDirInfo: { isDirectory: true, mode: 0o755 } }));
    expect(Object.fromEntries(checks.map((c) => [c.name, c.verdict]))).toMatchObject({ reflink: 'warn', 'free space': 'warn', 'state directory': 'warn' });
  });
});

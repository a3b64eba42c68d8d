import { afterEach, describe, expect, it } from 'vitest';
import { DriverMetrics } from '../../../src/metrics/metrics';
import { journalCommits, type JournalCommit } from '../../../src/state/journal';

const noSources = { controller: null, node: null, loops: null, startupSeconds: () => null };
let open: DriverMetrics[] = [];

function metrics(): DriverMetrics {
  const m = new DriverMetrics(noSources, '9.9.9');
  open.push(m);
  return m;
}

afterEach(() => {
  for (const m of open) m.close();
  open = [];
});

async function value(m: DriverMetrics, series: string): Promise<number | undefined> {
  const line = (await m.render()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('DriverMetrics', () => {
  it('counts a call in flight until its answer, then once by code', async () => {
    const m = metrics();
    const done = m.callStarted('CreateVolume');
    expect(await value(m, 'hostpath_csi_rpcs_in_flight{method="CreateVolume"}')).toBe(1);
    done('ABORTED');
    done('OK');
    expect(await value(m, 'hostpath_csi_rpcs_in_flight{method="CreateVolume"}')).toBe(0);
    expect(await value(m, 'hostpath_csi_rpc_duration_seconds_count{method="CreateVolume",code="ABORTED"}')).toBe(1);
    expect(await value(m, 'hostpath_csi_rpc_duration_seconds_count{method="CreateVolume",code="OK"}')).toBeUndefined();
  });

  it('records each journal group commit by store, and stops listening once closed', async () => {
    const m = metrics();
    const commit: JournalCommit = { dir: '/state/records/snapshots.journal', entries: 5, fdatasyncSeconds: 0.002 };
    journalCommits.publish(commit);
    expect(await value(m, 'hostpath_csi_journal_batch_entries_sum{store="snapshots"}')).toBe(5);
    expect(await value(m, 'hostpath_csi_journal_fdatasync_seconds_count{store="snapshots"}')).toBe(1);
    m.close();
    journalCommits.publish(commit);
    expect(await value(m, 'hostpath_csi_journal_batch_entries_sum{store="snapshots"}')).toBe(5);
  });

  it('exports no controller or node gauges where neither runs', async () => {
    const text = await metrics().render();
    expect(text).not.toContain('hostpath_csi_volumes');
    expect(text).not.toContain('hostpath_csi_loop_devices_attached');
    expect(text).toContain('hostpath_csi_build_info{version="9.9.9"} 1');
  });
});

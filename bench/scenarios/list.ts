import path from 'node:path';
import { call } from '../../support/csi-client';
import type { RunningDriver } from '../drivers';
import { Recorder } from '../recorder';
import { runDir, type Scenario } from '../scenario';
import { removeRunDir, result, withDriver } from './common';
import { createMany, deleteMany } from './create-delete';

/**
 * One full ListVolumes pass in pages; checks every volume is seen exactly once. A driver that answers a full page
 * without a next_token while volumes are missing has broken paging: reported, not timed.
 */
async function listAll(d: RunningDriver, rec: Recorder, page: number, expected: ReadonlySet<string>): Promise<{ ms: number; pages: number; broken: string | null }> {
  const c = d.clients.controller;
  const seen = new Set<string>();
  let token = '';
  let pages = 0;
  const t0 = process.hrtime.bigint();
  do {
    const res = await rec.rpc('ListVolumes', () => call(c.ListVolumes.bind(c), { max_entries: page, starting_token: token }), (r) =>
      r.entries.length > page ? `page of ${r.entries.length} entries, more than max_entries ${page}` : null,
    );
    if (res === null) return { ms: NaN, pages, broken: 'ListVolumes failed' };
    pages++;
    for (const e of res.entries) {
      const id = e.volume?.volume_id ?? '';
      if (seen.has(id)) rec.fail('ListVolumes', `volume ${id} listed twice`);
      seen.add(id);
    }
    token = res.next_token;
  } while (token !== '' && pages <= expected.size + 1);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const missing = [...expected].filter((id) => !seen.has(id)).length;
  if (missing === 0) return { ms, pages, broken: null };
  const why = `${missing} of ${expected.size} volumes never listed after ${pages} page(s)${token === '' ? ' (no next_token returned)' : ''}`;
  rec.fail('ListVolumes', why);
  return { ms: NaN, pages, broken: why };
}

export const list: Scenario = {
  name: 'list',
  async run(spec, ctx) {
    const { n, page } = ctx.sizes.list;
    const rec = new Recorder();
    const dir = await runDir(ctx, 'list', spec);
    try {
      return await withDriver(spec, dir, path.join(dir, 'state'), async (d) => {
        const ids = await createMany(d, rec, 'ls', 0, n, 32);
        const pass = await listAll(d, rec, page, new Set(ids.filter((x): x is string => x !== null)));
        await deleteMany(d, rec, ids, 32);
        return result(rec, { passMs: pass.ms, pages: pass.pages }, pass.broken ? [`paging broken: ${pass.broken}`] : []);
      });
    } finally {
      await removeRunDir(dir);
    }
  },
};

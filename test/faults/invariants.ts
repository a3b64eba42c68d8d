import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { mountsUnder, loopsUnder, type HostLoop, type HostMount } from './host';
import { sha256At, readThroughTarget } from './volume-data';
import type { DataItem, VolumeModel, World } from './world';

/** Tallies of one check pass; a violation is a sentence saying what is wrong where. */
export class CheckReport {
  checks = 0;
  dataItemsVerified = 0;
  dataBytesVerified = 0;
  dataLost = 0;
  leakedMounts = 0;
  leakedLoops = 0;
  readonly violations: string[] = [];

  expect(ok: boolean, message: () => string): void {
    this.checks++;
    if (!ok) this.violations.push(message());
  }

  expectSameSet(what: string, actual: Iterable<string>, expected: Iterable<string>): void {
    const a = new Set(actual);
    const e = new Set(expected);
    const extra = [...a].filter((x) => !e.has(x));
    const missing = [...e].filter((x) => !a.has(x));
    this.expect(extra.length === 0 && missing.length === 0, () => `${what}: unexpected ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`);
  }
}

export interface Layout {
  stateDir: string;
  kubeletDir: string;
  nodeId: string;
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function records(dir: string): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const name of await names(dir)) {
    if (!name.endsWith('.json')) continue;
    out.set(name.slice(0, -5), JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>);
  }
  return out;
}

async function checkItems(r: CheckReport, where: string, dir: string, items: ReadonlyMap<string, DataItem>, kind: VolumeModel['kind']): Promise<void> {
  for (const item of items.values()) {
    const file = kind.dataFile(dir, item.key);
    if (!file) continue;
    const sum = await sha256At(file.file, file.offset, item.length);
    r.expect(sum === item.sha256, () => `${where}: acknowledged data ${JSON.stringify(item.key)} ${sum === null ? 'is missing' : 'has changed'}`);
    if (sum === item.sha256) {
      r.dataItemsVerified++;
      r.dataBytesVerified += item.length;
    } else r.dataLost++;
  }
}

async function checkVolumeRecords(r: CheckReport, world: World, l: Layout): Promise<void> {
  const recs = await records(path.join(l.stateDir, 'records', 'volumes'));
  r.expectSameSet('volume records', recs.keys(), world.volumes.keys());
  r.expectSameSet('volume directories', await names(path.join(l.stateDir, 'volumes')), world.volumes.keys());
  for (const vol of world.volumes.values()) {
    const rec = recs.get(vol.id);
    if (!rec) continue;
    r.expect(rec['phase'] === 'ready', () => `volume ${vol.id}: record phase ${String(rec['phase'])}`);
    r.expect(rec['name'] === vol.name, () => `volume ${vol.id}: record name ${String(rec['name'])}, expected ${vol.name}`);
    r.expect(rec['capacityBytes'] === String(vol.capacity), () => `volume ${vol.id}: record capacity ${String(rec['capacityBytes'])}, acknowledged ${vol.capacity}`);
    r.expect(JSON.stringify(rec['mutableParameters']) === JSON.stringify(vol.mutable), () => `volume ${vol.id}: mutable parameters ${JSON.stringify(rec['mutableParameters'])}, acknowledged ${JSON.stringify(vol.mutable)}`);
    const dir = path.join(l.stateDir, 'volumes', vol.id);
    if (vol.kind.storage === 'block-image') {
      const size = await stat(path.join(dir, 'disk.img')).then((s) => s.size, () => -1);
      r.expect(size === vol.capacity, () => `block volume ${vol.id}: disk.img is ${size} bytes, capacity ${vol.capacity}`);
    }
    await checkItems(r, `volume ${vol.id}`, dir, vol.data, vol.kind);
  }
}

async function checkSnapshots(r: CheckReport, world: World, l: Layout): Promise<void> {
  const recs = await records(path.join(l.stateDir, 'records', 'snapshots'));
  r.expectSameSet('snapshot records', recs.keys(), world.snapshots.keys());
  r.expectSameSet('snapshot directories', await names(path.join(l.stateDir, 'snapshots')), world.snapshots.keys());
  r.expectSameSet('group snapshot records', (await records(path.join(l.stateDir, 'records', 'group-snapshots'))).keys(), []);
  for (const snap of world.snapshots.values()) {
    const rec = recs.get(snap.id);
    if (!rec) continue;
    r.expect(rec['phase'] === 'ready' && rec['sourceVolumeId'] === snap.sourceVolumeId, () => `snapshot ${snap.id}: record ${JSON.stringify(rec)}`);
    await checkItems(r, `snapshot ${snap.id}`, path.join(l.stateDir, 'snapshots', snap.id), snap.data, snap.kind);
  }
}

/** No temp file outlives a settled round (start-up removes those of a crash), and nothing was quarantined. */
async function checkStateHygiene(r: CheckReport, l: Layout): Promise<void> {
  for (const sub of ['volumes', 'attachments', 'snapshots', 'group-snapshots', 'node']) {
    const temps = (await names(path.join(l.stateDir, 'records', sub))).filter((n) => !n.endsWith('.json'));
    r.expect(temps.length === 0, () => `records/${sub} holds non-record files ${JSON.stringify(temps)}`);
  }
  const quarantined = await names(path.join(l.stateDir, 'quarantine'));
  r.expect(quarantined.length === 0, () => `records were quarantined: ${JSON.stringify(quarantined)}`);
}

async function checkAttachmentsAndNodeRecords(r: CheckReport, world: World, l: Layout, loops: HostLoop[]): Promise<void> {
  const atts = await records(path.join(l.stateDir, 'records', 'attachments'));
  const attachedIds = [...atts.values()].map((a) => String(a['volumeId']));
  r.expectSameSet('attachment records', attachedIds, [...world.volumes.values()].filter((v) => v.attached).map((v) => v.id));
  const nodeRecs = await records(path.join(l.stateDir, 'records', 'node'));
  const inUse = [...world.volumes.values()].filter((v) => v.stagingPath !== null || v.targets.size > 0);
  r.expectSameSet('node records', nodeRecs.keys(), inUse.map((v) => v.id));
  for (const vol of inUse) {
    const rec = nodeRecs.get(vol.id);
    if (!rec) continue;
    r.expect(rec['stagingPath'] === vol.stagingPath, () => `node record ${vol.id}: stagingPath ${String(rec['stagingPath'])}, expected ${vol.stagingPath}`);
    const targets = rec['targets'] as Record<string, { readonly: boolean }>;
    r.expectSameSet(`node record ${vol.id} targets`, Object.keys(targets), vol.targets.keys());
    for (const [t, want] of vol.targets) {
      r.expect(targets[t]?.readonly === want.readonly, () => `node record ${vol.id}: target ${t} readonly ${String(targets[t]?.readonly)}`);
    }
    if (vol.kind.storage !== 'directory' && vol.stagingPath !== null) {
      const rw = loops.filter((x) => x.file === path.join(l.stateDir, 'volumes', vol.id, 'disk.img') && !x.readOnly).map((x) => x.device);
      r.expect(rw.length === 1 && rec['loopDevice'] === rw[0], () => `node record ${vol.id}: loopDevice ${String(rec['loopDevice'])}, attached ${JSON.stringify(rw)}`);
    }
  }
}

function expectedMounts(world: World): Map<string, VolumeModel> {
  const out = new Map<string, VolumeModel>();
  for (const vol of world.volumes.values()) {
    if (vol.stagingPath !== null && vol.kind.accessType === 'mount') out.set(vol.stagingPath, vol);
    for (const t of vol.targets.keys()) out.set(t, vol);
  }
  return out;
}

/** Exactly the staged and published paths are mounted, once each, each showing its own volume; no other loop. */
function checkMountsAndLoops(r: CheckReport, world: World, l: Layout, mounts: HostMount[], loops: HostLoop[]): void {
  const expected = expectedMounts(world);
  const points = mounts.map((m) => m.mountPoint);
  r.expect(new Set(points).size === points.length, () => `mounts stacked twice: ${JSON.stringify(points.filter((p, i) => points.indexOf(p) !== i))}`);
  const leaked = points.filter((p) => !expected.has(p));
  r.leakedMounts += leaked.length;
  r.expectSameSet('mounts under the kubelet dir', points, expected.keys());
  const wantedLoops = new Set<string>();
  for (const m of mounts) {
    const vol = expected.get(m.mountPoint);
    if (!vol) continue;
    const image = path.join(l.stateDir, 'volumes', vol.id, 'disk.img');
    if (vol.kind.storage === 'directory') {
      r.expect(m.root.endsWith(`/volumes/${vol.id}`), () => `${m.mountPoint} shows ${m.root}, not volume ${vol.id}`);
      continue;
    }
    if (vol.kind.storage === 'filesystem-image') {
      const loop = loops.find((x) => x.device === m.source);
      r.expect(m.root === '/' && loop !== undefined && loop.file === image && !loop.readOnly, () => `${m.mountPoint} shows ${m.source}:${m.root} (${JSON.stringify(loop)}), not the filesystem in ${image}`);
      continue;
    }
    const loop = loops.find((x) => `/dev${m.root}` === x.device);
    const readonly = vol.targets.get(m.mountPoint)?.readonly ?? false;
    r.expect(loop !== undefined && loop.file === image && loop.readOnly === readonly, () => `${m.mountPoint} shows ${m.root} (${JSON.stringify(loop)}), not ${readonly ? 'a read-only' : 'the'} loop of ${image}`);
    if (loop) wantedLoops.add(loop.device);
  }
  for (const vol of world.volumes.values()) {
    if (vol.kind.storage === 'directory' || vol.stagingPath === null) continue;
    const rw = loops.filter((x) => x.file === path.join(l.stateDir, 'volumes', vol.id, 'disk.img') && !x.readOnly);
    rw.forEach((x) => wantedLoops.add(x.device));
  }
  const extra = loops.filter((x) => !wantedLoops.has(x.device));
  r.leakedLoops += extra.length;
  r.expect(extra.length === 0, () => `loop devices nobody uses: ${JSON.stringify(extra)}`);
}

async function checkThroughTargets(r: CheckReport, world: World): Promise<void> {
  for (const vol of world.volumes.values()) {
    for (const target of vol.targets.keys()) {
      for (const item of vol.data.values()) {
        const sum = await readThroughTarget(vol.kind, target, item);
        r.expect(sum === item.sha256, () => `${target}: acknowledged data ${JSON.stringify(item.key)} of ${vol.id} ${sum === null ? 'unreadable' : 'differs'}`);
        if (sum !== item.sha256) r.dataLost++;
      }
    }
  }
}

/** Everything the disk, the mount table and losetup say must match what the CO was told. */
export async function checkInvariants(world: World, l: Layout): Promise<CheckReport> {
  const r = new CheckReport();
  const [mounts, loops] = await Promise.all([mountsUnder(l.kubeletDir), loopsUnder(l.stateDir)]);
  await checkVolumeRecords(r, world, l);
  await checkSnapshots(r, world, l);
  await checkStateHygiene(r, l);
  await checkAttachmentsAndNodeRecords(r, world, l, loops);
  checkMountsAndLoops(r, world, l, mounts, loops);
  await checkThroughTargets(r, world);
  return r;
}


import { Client, credentials, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { access, lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DataScratch } from '../helpers/data';
import { isRoot, NEEDS_ROOT } from '../helpers/driver-process';
import { announce, budget } from './budget';
import { ANY_SPEC_CODE, fuzzCases, RPCS, type Fixtures, type FuzzCase } from './fuzz-cases';
import { loopsUnder, mountsUnder } from './host';
import { capabilityOf, kindByName } from './kinds';
import { connectCsi, send, type CsiClients } from './rpc';
import { keepLog, writeSummary } from './summary';

const b = budget();
const scratch = new DataScratch();
const NODE_ID = 'fuzz-node';
const SECRET = 'fuzz-secret-9d2e41';
/** A share of the cases are random bytes sent straight to a method's path, below the protobuf layer. */
const RAW_SHARE = 0.05;

afterAll(async () => {
  const { leftMounts, leftLoops } = await scratch.disposeAll();
  expect(leftMounts).toEqual([]);
  expect(leftLoops).toEqual([]);
});

/** Every file and directory under `dir` with what would show a write: type, size, mode, mtime. */
async function treeFacts(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (p: string): Promise<void> => {
    const s = await lstat(p);
    out[path.relative(dir, p) || '.'] = `${s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : 'f'} ${s.size} ${s.mode} ${s.mtimeMs}`;
    if (s.isDirectory()) for (const n of await readdir(p)) await visit(path.join(p, n));
  };
  await visit(dir);
  return out;
}

async function must(clients: CsiClients, service: 'controller' | 'node' | 'groupController', rpc: string, req: unknown): Promise<Record<string, unknown>> {
  const a = await send(clients, service, rpc, req);
  if (!a.ok) throw new Error(`fixture ${rpc}: ${a.code} ${a.details}`);
  return a.res;
}

async function makeFixtures(clients: CsiClients, root: string, paths: Fixtures['paths']): Promise<Fixtures> {
  const dir = kindByName('dir');
  const block = kindByName('block');
  const create = async (name: string, k: typeof dir): Promise<string> =>
    ((await must(clients, 'controller', 'CreateVolume', { name, capacity_range: { required_bytes: String(k.initialBytes) }, volume_capabilities: [capabilityOf(k)], parameters: k.parameters }))['volume'] as { volume_id: string }).volume_id;
  const dirVolume = await create('fuzz-dir', dir);
  const blockVolume = await create('fuzz-block', block);
  const snapshot = ((await must(clients, 'controller', 'CreateSnapshot', { name: 'fuzz-fixture-snap', source_volume_id: dirVolume }))['snapshot'] as { snapshot_id: string }).snapshot_id;
  // The valid requests are repeats of these (the idempotent path); the defect cases differ from them in one field.
  for (let n = 0; n <= 2; n++) await must(clients, 'controller', 'CreateSnapshot', { name: `fuzz-snap-${n}`, source_volume_id: dirVolume });
  await must(clients, 'controller', 'ControllerPublishVolume', { volume_id: dirVolume, node_id: NODE_ID, volume_capability: capabilityOf(dir), readonly: false });
  const stagingPath = path.join(paths.kubelet, 'plugins', 'fuzz', 'globalmount');
  const targetPath = path.join(paths.kubelet, 'pods', 'fuzz-pod', 'mount');
  await must(clients, 'node', 'NodeStageVolume', { volume_id: dirVolume, staging_target_path: stagingPath, volume_capability: capabilityOf(dir) });
  await must(clients, 'node', 'NodePublishVolume', { volume_id: dirVolume, staging_target_path: stagingPath, target_path: targetPath, volume_capability: capabilityOf(dir), readonly: false });
  void root;
  return { nodeId: NODE_ID, dirVolume, blockVolume, snapshot, stagingPath, targetPath, secretMarker: SECRET, paths };
}

/** Random bytes to a method's path: whatever protobuf makes of them, the answer is never UNKNOWN. */
function sendRaw(address: string, method: string, bytes: Uint8Array): Promise<number> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (x: Buffer) => x, (x: Buffer) => x, Buffer.from(bytes), { deadline: new Date(Date.now() + 10_000) }, (err) => {
      client.close();
      resolve(err ? (err.code ?? status.UNKNOWN) : status.OK);
    });
  });
}

const METHOD_PATHS = RPCS.map((r) => `/csi.v1.${r.service[0]!.toUpperCase()}${r.service.slice(1)}/${r.rpc}`);

it.skipIf(!isRoot)(`fuzzing every RPC with ${b.fuzzCases} malformed and valid requests against a live driver${NEEDS_ROOT}`, async () => {
  announce('fuzz', b, `cases=${b.fuzzCases}`);
  const root = await scratch.dir();
  const paths = { kubelet: path.join(root, 'kubelet'), honey: path.join(root, 'honey'), escapeLink: path.join(root, 'kubelet', 'escape'), canary: path.join(root, 'canary'), cwd: root };
  await mkdir(paths.kubelet);
  await mkdir(path.join(paths.honey, 'x', 'mount'), { recursive: true });
  await writeFile(path.join(paths.honey, 'precious.txt'), 'must not be touched');
  await symlink(paths.honey, paths.escapeLink);
  const driver = await scratch.start({ root, nodeId: NODE_ID, allowedPathRoot: paths.kubelet, logLevel: 'debug', extraArgs: ['--mutable-parameters=iops', '--max-volume-size=1Gi'] });
  const clients = connectCsi(driver.socketPath);
  const f = await makeFixtures(clients, root, paths);
  const honeyBefore = await treeFacts(paths.honey);
  const rootBefore = (await readdir(root)).sort();

  const rawCount = Math.round(b.fuzzCases * RAW_SHARE);
  const cases = fc.sample(fuzzCases(f), { seed: b.seed, numRuns: b.fuzzCases - rawCount });
  const raws = fc.sample(fc.tuple(fc.constantFrom(...METHOD_PATHS), fc.uint8Array({ maxLength: 600 })), { seed: b.seed + 1, numRuns: rawCount });
  const byRpc: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  const defects = new Set<string>();
  const mismatches: string[] = [];
  const started = Date.now();
  for (const [i, c] of cases.entries()) {
    const a = await send(clients, c.service as never, c.rpc, c.request);
    const code = a.ok ? status.OK : a.code;
    byRpc[c.rpc] = (byRpc[c.rpc] ?? 0) + 1;
    byCode[status[code]] = (byCode[status[code]] ?? 0) + 1;
    defects.add(`${c.rpc}: ${c.defect}`);
    if (!c.expect.includes(code) && mismatches.length < 40) mismatches.push(describeMismatch(i, c, code, a.ok ? '' : a.details));
  }
  let rawUnknown = 0;
  for (const [method, bytes] of raws) {
    const code = await sendRaw(`unix://${driver.socketPath}`, method, bytes);
    byCode[`raw ${status[code]}`] = (byCode[`raw ${status[code]}`] ?? 0) + 1;
    if (code === status.UNKNOWN) rawUnknown++;
  }
  const seconds = (Date.now() - started) / 1000;
  const alive = (await send(clients, 'identity', 'Probe', {})).ok;

  // Side effects: nothing outside the state dir and the given paths; exactly the fixture mounts; no loop devices.
  const honeyAfter = await treeFacts(paths.honey);
  const honeyChanged = Object.keys({ ...honeyBefore, ...honeyAfter }).filter((k) => honeyBefore[k] !== honeyAfter[k]);
  const canary = await access(paths.canary).then(() => true, () => false);
  const rootAfter = (await readdir(root)).sort();
  const mounts = (await mountsUnder(root)).map((m) => m.mountPoint).sort();
  const loops = await loopsUnder(root);
  const stateTop = (await readdir(path.join(root, 'state'))).sort();
  const quarantined = await readdir(path.join(root, 'state', 'quarantine')).catch(() => []);

  for (const req of [{ volume_id: f.dirVolume, target_path: f.targetPath }]) await send(clients, 'node', 'NodeUnpublishVolume', req);
  await send(clients, 'node', 'NodeUnstageVolume', { volume_id: f.dirVolume, staging_target_path: f.stagingPath });
  clients.close();
  const exit = await driver.stop();
  const log = driver.stderr;
  await keepLog('fuzz', log);
  const unexpected = log.split('\n').filter((l) => l.includes('"failed unexpectedly"')).length;
  const secretHits = log.split(SECRET).length - 1;
  const figures = {
    seed: b.seed,
    cases: cases.length + raws.length,
    messageCases: cases.length,
    rawByteCases: raws.length,
    rpcsCovered: Object.keys(byRpc).length,
    defectKinds: defects.size,
    byRpc,
    byCode,
    seconds,
    casesPerSecond: Math.round((cases.length + raws.length) / seconds),
    codeMismatches: mismatches.length,
    unknownAnswers: (byCode['UNKNOWN'] ?? 0) + rawUnknown,
    internalFromDriver: unexpected,
    honeypotChanges: honeyChanged.length,
    shellCanaryCreated: canary,
    secretsInLogs: secretHits,
    driverAliveAfter: alive,
    driverExit: exit.code,
    logBytes: log.length,
  };
  await writeSummary('fuzz', figures);
  expect(mismatches).toEqual([]);
  expect(figures.unknownAnswers).toBe(0);
  expect(unexpected).toBe(0);
  expect(alive).toBe(true);
  expect(exit.code).toBe(0);
  expect(honeyChanged).toEqual([]);
  expect(canary).toBe(false);
  expect(secretHits).toBe(0);
  expect(rootAfter).toEqual(rootBefore);
  expect(mounts).toEqual([f.stagingPath, f.targetPath].sort());
  expect(loops).toEqual([]);
  // space-reserve.<mode>: room the driver keeps for deletes on a full disk (src/state/space-reserve.ts);
  // controller.lock / node.lock: one process per role (src/os/state-lock.ts); trash: data being removed (src/os/trash.ts).
  expect(stateTop.filter((n) => !['volumes', 'snapshots', 'records', 'quarantine', 'ephemeral', 'space-reserve.all', 'trash', 'controller.lock', 'node.lock'].includes(n))).toEqual([]);
  expect(quarantined).toEqual([]);
}, 60 * 60 * 1000);

function describeMismatch(i: number, c: FuzzCase, code: number, details: string): string {
  const req = JSON.stringify(c.request, (_, v: unknown) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v));
  return `case ${i} ${c.rpc} [${c.defect}]: got ${status[code]} (${details.slice(0, 160)}), expected ${c.expect.map((x) => status[x]).join('|')}; request ${req.slice(0, 600)}`;
}

export { ANY_SPEC_CODE };

import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DataScratch, type ImageMount } from '../helpers/data';
import { isRoot, NEEDS_ROOT } from '../helpers/driver-process';
import { mountHostFs, unmountHostFs } from '../helpers/size-limits';
import { checkApi } from './api-check';
import { announce, budget } from './budget';
import { loopsUnder, mountsUnder, run, simulateReboot } from './host';
import * as I from './intents';
import { checkInvariants, CheckReport, type Layout } from './invariants';
import { projectQuotaStateFs } from './kinds';
import { planIntents } from './planner';
import { Rng } from './rng';
import { RETRIABLE, type Answer } from './rpc';
import { DriverSession, type RetryStats } from './session';
import { percentile, writeSummary } from './summary';
import { writeThroughTarget } from './volume-data';
import { KubeletPaths, World, type VolumeModel } from './world';

const b = budget();
const scratch = new DataScratch();
const NODE_ID = 'faults-node';

afterAll(async () => {
  const { leftMounts, leftLoops } = await scratch.disposeAll();
  expect(leftMounts).toEqual([]);
  expect(leftLoops).toEqual([]);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Everything the run counts; written to .run/faults/crash.json for docs/reliability.md. */
const fig = {
  seed: b.seed,
  rounds: 0,
  kills: 0,
  killsDuringStartup: 0,
  killsMainOnly: 0,
  restartsAfterMainOnlyKill: 0,
  childrenAtMainOnlyKill: {} as Record<string, number>,
  startupFailures: 0,
  orphanedChildren: 0,
  reboots: 0,
  intents: 0,
  intentsByRpc: {} as Record<string, number>,
  answeredBeforeKill: 0,
  unansweredAtKill: 0,
  lostAnswersRedelivered: 0,
  writesAcknowledged: 0,
  invariantChecks: 0,
  dataItemsVerified: 0,
  dataBytesVerified: 0,
  dataLost: 0,
  leakedMounts: 0,
  leakedLoops: 0,
  blockVolumesReattachedAfterReboot: 0,
  stagedMountsRestoredAfterReboot: 0,
  sentinelLoopsDisturbed: 0,
  secretsInLogs: 0,
  driverLogBytes: 0,
  violations: [] as string[],
  restartToReadyMs: { p50: 0, p99: 0, max: 0 },
  retry: { retriedCalls: 0, retriedIntents: 0, retryCodes: {} } as RetryStats,
  finalTeardown: { volumesDeleted: 0, snapshotsDeleted: 0 },
};

function fail(where: string, message: string): never {
  fig.violations.push(`${where}: ${message}`);
  throw new Error(`${where}: ${message}\nreplay: FAULTS_SEED=${b.seed} FAULTS_ROUNDS=${b.crashRounds} bash test/faults/run.sh crash`);
}

function absorb(r: CheckReport, where: string): void {
  fig.invariantChecks += r.checks;
  fig.dataItemsVerified += r.dataItemsVerified;
  fig.dataBytesVerified += r.dataBytesVerified;
  fig.dataLost += r.dataLost;
  fig.leakedMounts += r.leakedMounts;
  fig.leakedLoops += r.leakedLoops;
  if (r.violations.length > 0) fail(where, `invariants broken:\n  ${r.violations.join('\n  ')}`);
}

/** Takes a final answer into the model; anything but OK for a legal intent is a violation. */
function conclude(intent: I.Intent, answer: Answer, where: string): void {
  if (!answer.ok) fail(where, `${intent.what}: final answer ${answer.code} ${answer.details}; the spec requires OK`);
  const problem = intent.onOk(answer.res);
  if (problem) fail(where, problem);
}

async function writeData(world: World, rng: Rng): Promise<void> {
  for (const vol of world.idle(world.volumes.values())) {
    const rw = [...vol.targets].filter(([, t]) => !t.readonly).map(([p]) => p);
    if (rw.length === 0 || !rng.chance(0.6)) continue;
    await writeThroughTarget(vol, rng.pick(rw), rng);
    fig.writesAcknowledged++;
  }
}

async function checkAll(world: World, layout: Layout, session: DriverSession, where: string): Promise<void> {
  if (!session.alive()) fail(where, `the driver died: ${JSON.stringify(session.driver?.exit)}`);
  const r = await checkInvariants(world, layout);
  await checkApi(r, world, session.clients!, NODE_ID);
  absorb(r, where);
}

/** Live (not zombie) processes of process group `pgid`, by command name: /proc/<pid>/stat field 5 is the group. */
async function groupMembers(pgid: number): Promise<{ pid: number; comm: string }[]> {
  const out: { pid: number; comm: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && fields[2] === String(pgid)) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
  }
  return out;
}

async function groupAlive(pgid: number): Promise<boolean> {
  return (await groupMembers(pgid)).length > 0;
}

/**
 * A kill of the main process alone is aimed at a moment its children run: it waits (up to `maxMs`) until the driver
 * has a child. Random timing alone rarely lands while a short mkfs or e2fsck runs.
 */
async function untilChildRuns(mainPid: number | undefined, maxMs: number): Promise<void> {
  if (mainPid === undefined) return;
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    if ((await groupMembers(mainPid)).some((m) => m.pid !== mainPid)) return;
    await sleep(5);
  }
}

/** Counts the children (cp, mkfs, e2fsck, ...) running just before a kill of the main process alone, by program. */
async function countChildren(mainPid: number | undefined): Promise<void> {
  if (mainPid === undefined) return;
  for (const { pid, comm } of await groupMembers(mainPid)) {
    if (pid !== mainPid) fig.childrenAtMainOnlyKill[comm] = (fig.childrenAtMainOnlyKill[comm] ?? 0) + 1;
  }
}

/** Children of a main process killed alone must die with it (the kernel's parent-death signal): none may linger. */
async function checkNoOrphans(pgid: number, where: string): Promise<void> {
  for (let waited = 0; waited < 2_000 && (await groupAlive(pgid)); waited += 50) await sleep(50);
  if (!(await groupAlive(pgid))) return;
  fig.orphanedChildren++;
  process.kill(-pgid, 'SIGKILL');
  fail(where, `children of the SIGKILLed driver (process group ${pgid}) outlived it`);
}

/** One round: writes, a batch of concurrent intents, maybe a SIGKILL mid-batch, restart, retries, invariants. */
async function round(n: number, world: World, session: DriverSession, rng: Rng, layout: Layout): Promise<void> {
  const where = `round ${n}`;
  await writeData(world, rng);
  const intents = planIntents(world, rng, rng.between(1, 8), NODE_ID);
  fig.intents += intents.length;
  for (const i of intents) fig.intentsByRpc[i.rpc] = (fig.intentsByRpc[i.rpc] ?? 0) + 1;
  const kill = rng.chance(0.8);
  // Most calls finish within 10-150 ms here: kills land before, during and after them.
  const killAfterMs = rng.between(0, 200);
  // Half the kills hit the main process alone, leaving its children (cp, mkfs, e2fsck) to the kernel.
  const mainOnly = kill && rng.chance(0.5);
  const answers = intents.map((i) => session.call(i));
  let orphanGroup: number | null = null;
  if (kill) {
    await sleep(killAfterMs);
    if (mainOnly) await untilChildRuns(session.driver?.proc.pid, 250);
    if (mainOnly) await countChildren(session.driver?.proc.pid);
    orphanGroup = await session.crash(mainOnly);
    fig.kills++;
    if (mainOnly) fig.killsMainOnly++;
  }
  const first = await Promise.all(answers);
  const pending: I.Intent[] = [];
  const answered: I.Intent[] = [];
  first.forEach((a, idx) => {
    const intent = intents[idx]!;
    if (!a.ok && RETRIABLE.has(a.code)) pending.push(intent);
    else {
      conclude(intent, a, where);
      answered.push(intent);
    }
  });
  if (kill) {
    fig.answeredBeforeKill += answered.length;
    fig.unansweredAtKill += pending.length;
    const crashStartup = rng.chance(0.15);
    if (crashStartup) fig.killsDuringStartup++;
    // Restarted at once: after a kill of the main process alone its children may still be running (cp, mkfs,
    // e2fsck). Start-up must never fail because of them or of what they left half-made.
    if (mainOnly) fig.restartsAfterMainOnlyKill++;
    await session.start(crashStartup ? rng.between(0, 400) : null).catch((err: unknown) => {
      fig.startupFailures++;
      fail(where, `start-up failed after a SIGKILL${mainOnly ? ' of the main process alone' : ''}: ${(err as Error).message}`);
    });
    if (mainOnly && orphanGroup !== null) await checkNoOrphans(orphanGroup, where);
  }
  for (const [intent, a] of await session.settle(pending, fig.retry)) conclude(intent, a, where);
  // A CO that lost an answer (a timeout just as the driver replied) sends the same request again.
  const again = answered.filter(() => rng.chance(0.15));
  for (const [intent, a] of await session.settle(again, fig.retry)) {
    if (!a.ok) fail(where, `${intent.what} delivered again: ${a.code} ${a.details}`);
    const problem = intent.onRepeat(a.res);
    if (problem) fail(where, problem);
    fig.lostAnswersRedelivered++;
  }
  for (const i of intents) for (const h of i.holds) h.busy = false;
  await checkAll(world, layout, session, where);
}

/**
 * A node reboot: the driver dies, every mount and loop device is gone. Before kubelet does anything, the driver must
 * have re-attached staged block volumes. Kubelet then stages and publishes again what pods still use, and unpublishes
 * what was deleted meanwhile. A loop device of someone else, attached right after the reboot, must be left alone.
 */
async function reboot(n: number, world: World, session: DriverSession, rng: Rng, layout: Layout, sentinelFile: string): Promise<void> {
  const where = `reboot after round ${n}`;
  fig.reboots++;
  await session.crash();
  await simulateReboot(layout.kubeletDir, layout.stateDir);
  const sentinel = (await run('losetup', ['--find', '--show', '--', sentinelFile])).trim();
  try {
    await session.start();
    const stagedOnLoops = [...world.volumes.values()].filter((v) => v.kind.storage !== 'directory' && v.stagingPath !== null);
    const loops = await loopsUnder(layout.stateDir);
    const mounted = new Set((await mountsUnder(layout.kubeletDir)).map((m) => m.mountPoint));
    for (const vol of stagedOnLoops) {
      const image = path.join(layout.stateDir, 'volumes', vol.id, 'disk.img');
      if (!loops.some((l) => l.file === image && !l.readOnly)) fail(where, `staged ${vol.kind.name} volume ${vol.id} has no loop device after restart`);
      fig.blockVolumesReattachedAfterReboot++;
      // An image volume's filesystem is mounted at its staging path again by the driver itself, before kubelet acts.
      if (vol.kind.storage === 'filesystem-image' && !mounted.has(vol.stagingPath!)) fail(where, `staged image volume ${vol.id} is not mounted at ${vol.stagingPath} after restart`);
    }
    const staged = [...world.volumes.values()].filter((v) => v.stagingPath !== null);
    for (const [intent, a] of await session.settle(staged.map((v) => I.nodeStage(world, v)), fig.retry)) conclude(intent, a, where);
    fig.stagedMountsRestoredAfterReboot += staged.filter((v) => v.kind.accessType === 'mount').length;
    const republish: I.Intent[] = [];
    for (const vol of world.volumes.values()) {
      for (const [target, t] of [...vol.targets]) {
        if (rng.chance(0.2)) republish.push(I.nodeUnpublish(vol, target));
        else republish.push(I.nodePublish(world, vol, t.readonly, t.podUid));
      }
    }
    for (const [intent, a] of await session.settle(republish, fig.retry)) conclude(intent, a, where);
    const after = (await run('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE', sentinel]).catch(() => '')).trim();
    if (after !== sentinelFile) {
      fig.sentinelLoopsDisturbed++;
      fail(where, `another user's loop device ${sentinel} (backing ${sentinelFile}) was detached or changed: now ${JSON.stringify(after)}`);
    }
    await checkAll(world, layout, session, where);
  } finally {
    await run('losetup', ['--detach', sentinel]).catch(() => undefined);
  }
}

/** Takes everything down in CO order through the same retrying path; nothing may be left behind. */
async function teardown(world: World, session: DriverSession, layout: Layout): Promise<void> {
  const where = 'final teardown';
  const steps: Array<(v: VolumeModel) => I.Intent[]> = [
    (v) => [...v.targets.keys()].map((t) => I.nodeUnpublish(v, t)),
    (v) => (v.stagingPath !== null ? [I.nodeUnstage(v)] : []),
    (v) => (v.attached ? [I.controllerUnpublish(v, NODE_ID)] : []),
  ];
  for (const step of steps) {
    const batch = [...world.volumes.values()].flatMap(step);
    for (const [intent, a] of await session.settle(batch, fig.retry)) conclude(intent, a, where);
  }
  fig.finalTeardown.snapshotsDeleted = world.snapshots.size;
  fig.finalTeardown.volumesDeleted = world.volumes.size;
  const deletes = [...[...world.snapshots.values()].map((s) => I.deleteSnapshot(world, s)), ...[...world.volumes.values()].map((v) => I.deleteVolume(world, v))];
  for (const [intent, a] of await session.settle(deletes, fig.retry)) conclude(intent, a, where);
  await checkAll(world, layout, session, where);
}

it.skipIf(!isRoot)(`crash consistency: ${b.crashRounds} rounds of concurrent RPCs, SIGKILL, restart, retry, invariants${NEEDS_ROOT}`, async () => {
  announce('crash', b, `rounds=${b.crashRounds} reboot-every=${b.rebootEvery}`);
  const root = await scratch.dir();
  // Quota volumes need a state filesystem with project quotas: one made on an image in the run's directory.
  const quotaFs = projectQuotaStateFs();
  const stateFs: ImageMount | null = quotaFs ? await mountHostFs(root, quotaFs, 2048 * 1024 * 1024) : null;
  const layout: Layout = { stateDir: path.join(stateFs?.mountPoint ?? root, 'state'), kubeletDir: path.join(root, 'kubelet'), nodeId: NODE_ID };
  await mkdir(layout.kubeletDir, { recursive: true });
  const sentinelFile = path.join(root, 'sentinel.img');
  const handle = await open(sentinelFile, 'w');
  await handle.truncate(1024 * 1024);
  await handle.close();
  const rng = new Rng(b.seed);
  const world = new World(new KubeletPaths(layout.kubeletDir));
  const session = new DriverSession({ root, ...layout, part: 'crash' }, I.SECRET_VALUE);
  const started = Date.now();
  try {
    await session.start();
    for (let n = 1; n <= b.crashRounds; n++) {
      await round(n, world, session, rng.fork(), layout);
      fig.rounds = n;
      if (n % b.rebootEvery === 0 || n === b.crashRounds) await reboot(n, world, session, rng.fork(), layout, sentinelFile);
    }
    await teardown(world, session, layout);
    await session.stop();
  } finally {
    await session.crash();
    if (stateFs) await unmountHostFs(stateFs).catch((err: unknown) => fig.violations.push(`unmounting the quota state filesystem: ${String(err)}`));
    fig.secretsInLogs = session.secretHits;
    fig.driverLogBytes = session.logBytes;
    fig.restartToReadyMs = { p50: percentile(session.restartMs, 50), p99: percentile(session.restartMs, 99), max: Math.max(0, ...session.restartMs) };
    await writeSummary('crash', { ...fig, seconds: Math.round((Date.now() - started) / 1000), driverStarts: session.starts });
  }
  expect(fig.secretsInLogs).toBe(0);
  expect(fig.dataLost).toBe(0);
  expect(fig.violations).toEqual([]);
}, 60 * 60 * 1000);

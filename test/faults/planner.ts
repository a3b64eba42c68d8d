import * as I from './intents';
import { VOLUME_KINDS } from './kinds';
import type { Rng } from './rng';
import type { VolumeModel, World } from './world';

/** Bounds that keep a round quick on a 2-core machine while still reaching every state of every object. */
export const MAX_VOLUMES = 14;
export const MAX_SNAPSHOTS = 10;
const MAX_TARGETS = 2;

type Choice = [weight: number, make: () => I.Intent];

/** Every intent the CO could legally send now about one idle volume, with how often to pick it. */
function volumeChoices(world: World, vol: VolumeModel, rng: Rng, nodeId: string): Choice[] {
  const crowded = world.volumes.size >= MAX_VOLUMES * 0.75;
  const staged = vol.stagingPath !== null;
  const choices: Choice[] = [];
  if (vol.targets.size > 0) {
    choices.push([3, () => I.nodeUnpublish(vol, rng.pick([...vol.targets.keys()]))]);
  }
  if (staged && vol.targets.size < MAX_TARGETS) choices.push([3, () => I.nodePublish(world, vol, rng.chance(0.3))]);
  if (staged && vol.targets.size === 0) choices.push([2, () => I.nodeUnstage(vol)]);
  if (vol.attached && !staged) {
    choices.push([3, () => I.nodeStage(world, vol)]);
    choices.push([1, () => I.controllerUnpublish(vol, nodeId)]);
  }
  if (!vol.attached && !staged && vol.targets.size === 0) {
    choices.push([3, () => I.controllerPublish(vol, nodeId)]);
    choices.push([crowded ? 4 : 1, () => I.deleteVolume(world, vol)]);
  }
  if (vol.capacity < vol.kind.maxBytes) choices.push([1, () => I.expandVolume(vol)]);
  choices.push([1, () => I.modifyVolume(vol, String(rng.between(100, 9999)))]);
  if (world.snapshots.size < MAX_SNAPSHOTS) choices.push([1, () => I.createSnapshot(world, vol)]);
  if (world.volumes.size < MAX_VOLUMES) {
    choices.push([0.5, () => I.createVolume(world, vol.kind, vol.capacity, { type: 'volume', id: vol.id, model: vol }, nodeId)]);
  }
  return choices;
}

function worldChoices(world: World, rng: Rng, nodeId: string): Choice[] {
  const choices: Choice[] = [];
  if (world.volumes.size < MAX_VOLUMES) {
    const kind = rng.pick(VOLUME_KINDS);
    choices.push([world.volumes.size < 4 ? 6 : 2, () => I.createVolume(world, kind, kind.initialBytes, null, nodeId)]);
  }
  for (const snap of world.idle(world.snapshots.values())) {
    if (world.volumes.size < MAX_VOLUMES) {
      choices.push([0.7, () => I.createVolume(world, snap.kind, snap.sizeBytes, { type: 'snapshot', id: snap.id, model: snap }, nodeId)]);
    }
    choices.push([world.snapshots.size > MAX_SNAPSHOTS / 2 ? 1.5 : 0.5, () => I.deleteSnapshot(world, snap)]);
  }
  return choices;
}

function pickWeighted(choices: readonly Choice[], rng: Rng): Choice | null {
  const total = choices.reduce((sum, [w]) => sum + w, 0);
  if (total <= 0) return null;
  let x = rng.next() * total;
  for (const c of choices) {
    x -= c[0];
    if (x < 0) return c;
  }
  return choices[choices.length - 1]!;
}

/**
 * Up to `count` intents, each on objects no other pending intent holds (the CO sends one operation per object at a
 * time; concurrency is across objects). Each pick re-reads the world, so holds taken by earlier picks count.
 */
export function planIntents(world: World, rng: Rng, count: number, nodeId: string): I.Intent[] {
  const intents: I.Intent[] = [];
  for (let i = 0; i < count; i++) {
    const choices = [...worldChoices(world, rng, nodeId)];
    for (const vol of world.idle(world.volumes.values())) choices.push(...volumeChoices(world, vol, rng, nodeId));
    const choice = pickWeighted(choices, rng);
    if (!choice) break;
    const intent = choice[1]();
    for (const h of intent.holds) h.busy = true;
    intents.push(intent);
  }
  return intents;
}

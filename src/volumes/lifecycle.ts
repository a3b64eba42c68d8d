import { AbortedError, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError, ResourceExhaustedError } from '../errors';
import type { Logger } from '../log';
import type { AccessType, Capability } from '../domain/capability';
import { chooseCapacity, refuseAboveMax, sizeFits, type SizeRange } from '../domain/size-range';
import { chooseKind, kindFor } from '../domain/kind-choice';
import { backendFor, snapshotLockKey, volumeLockKey, volumeNameLockKey, type ControllerDeps } from './controller-deps';
import type { ContentSource, ImageFsType, VolumeKind, VolumeRecord } from './model';
import { quarantinedError } from '../state/record-store';
import { requirementAllowsNode } from './topology';
import { parseRootOwnership } from '../domain/ownership';
import { parseDirPlacement } from '../domain/dir-layout';
import { claimDataDir } from './placement';
import { isStaticVolumeId } from './static';
import type { CreateVolumeCommand } from '../domain/commands';

export type { CreateVolumeCommand } from '../domain/commands';


/** What a restore or clone copies from, and the smallest volume it fits in. */
interface ResolvedSource {
  dir: string;
  sizeBytes: bigint;
  kind: VolumeKind;
  accessType: AccessType;
  fsType: ImageFsType | null;
}

function resolveSource(deps: ControllerDeps, source: ContentSource): ResolvedSource {
  if (source.type === 'snapshot') {
    deps.snapshots.refuseIfQuarantined(source.id);
    const snap = deps.snapshots.get(source.id);
    if (!snap || snap.phase === 'deleting') throw new NotFoundError(`source snapshot ${source.id} does not exist`);
    if (snap.phase !== 'ready') throw new AbortedError(`source snapshot ${source.id} is still being created`);
    return { dir: deps.layout.snapshotDataDir(snap.id), sizeBytes: BigInt(snap.sizeBytes), kind: snap.kind, accessType: snap.accessType, fsType: snap.fsType ?? null };
  }
  const vol = deps.catalog.getVolume(source.id);
  if (!vol || vol.phase === 'deleting') throw new NotFoundError(`source volume ${source.id} does not exist`);
  if (vol.phase !== 'ready') throw new AbortedError(`source volume ${source.id} is still being created`);
  return { dir: deps.layout.dataDirOf(vol), sizeBytes: BigInt(vol.capacityBytes), kind: vol.kind, accessType: vol.accessType, fsType: vol.fsType ?? null };
}


/** mkfs.xfs (xfsprogs >= 5.19) refuses filesystems under 300 MiB: an xfs image is never made smaller. */
export const XFS_MIN_BYTES = 300n * 1024n * 1024n;

function fitMinimum(capacity: bigint, range: SizeRange, fsType: ImageFsType | null): bigint {
  if (fsType !== 'xfs' || capacity >= XFS_MIN_BYTES) return capacity;
  if (range.limit > 0n && range.limit < XFS_MIN_BYTES) throw new OutOfRangeError(`an xfs image volume is at least ${XFS_MIN_BYTES} bytes; limit_bytes is ${range.limit}`);
  return XFS_MIN_BYTES;
}

/**
 * CSI spec, CreateVolume from a content source: the new volume must hold the source, so a range that excludes the
 * source's size is OUT_OF_RANGE; with no size asked for, the volume gets the source's size.
 */
function capacityForSource(deps: ControllerDeps, range: SizeRange, src: ResolvedSource): bigint {
  if ((range.required > 0n && range.required < src.sizeBytes) || (range.limit > 0n && range.limit < src.sizeBytes)) {
    throw new OutOfRangeError(`the source is ${src.sizeBytes} bytes; the requested capacity range cannot hold it`);
  }
  return chooseCapacity({ required: range.required > 0n ? range.required : src.sizeBytes, limit: range.limit }, deps.config.defaultVolumeSize, deps.config.maxVolumeSize);
}

function sourceLockKey(source: ContentSource): string {
  return source.type === 'snapshot' ? snapshotLockKey(source.id) : volumeLockKey(source.id);
}

function sameSource(a: ContentSource | null, b: ContentSource | null): boolean {
  return a === b || (a !== null && b !== null && a.type === b.type && a.id === b.id);
}

/** The one access type all requested capabilities agree on (a volume is either a filesystem or a block device). */
function accessTypeOf(caps: readonly Capability[]): AccessType {
  const types = new Set(caps.map((c) => c.accessType));
  if (types.size > 1) throw new InvalidArgumentError('volume_capabilities mix mount and block access types');
  return caps[0]!.accessType;
}

export function checkMutableKeys(deps: Pick<ControllerDeps, 'config'>, field: string, params: Record<string, string>): void {
  const bad = Object.keys(params).filter((k) => !deps.config.mutableParameters.has(k));
  if (bad.length > 0) {
    const allowed = [...deps.config.mutableParameters].join(', ') || 'none';
    throw new InvalidArgumentError(`${field} ${JSON.stringify(bad)} are not modifiable (allowed: ${allowed})`);
  }
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** CSI spec, CreateVolume: a volume with this name exists; answer it if compatible, ALREADY_EXISTS if not. */
function answerExisting(existing: VolumeRecord, cmd: CreateVolumeCommand, accessType: AccessType): VolumeRecord {
  if (existing.phase !== 'ready') throw new AbortedError(`volume ${existing.id} with this name is being ${existing.phase === 'deleting' ? 'deleted' : 'created'}`);
  const problems: string[] = [];
  if (!sizeFits(BigInt(existing.capacityBytes), cmd.range)) problems.push(`its capacity is ${existing.capacityBytes} bytes`);
  if (existing.accessType !== accessType) problems.push(`it is a ${existing.accessType} volume`);
  if (!sameMap(existing.parameters, cmd.parameters)) problems.push('it has different parameters');
  if (!requirementAllowsNode(cmd.topology, existing.nodeId)) problems.push(`it lives on node ${existing.nodeId}`);
  if (!sameSource(existing.contentSource, cmd.source)) problems.push('it was created from a different content source');
  if (problems.length > 0) throw new AlreadyExistsError(`volume ${JSON.stringify(cmd.name)} already exists and is incompatible: ${problems.join('; ')}`);
  return existing;
}

export async function createVolume(deps: ControllerDeps, cmd: CreateVolumeCommand, log: Logger): Promise<VolumeRecord> {
  const accessType = accessTypeOf(cmd.capabilities);
  kindFor(accessType, cmd.parameters);
  checkMutableKeys(deps, 'mutable_parameters', cmd.mutableParameters);
  const keys = [volumeNameLockKey(cmd.name), ...(cmd.source ? [sourceLockKey(cmd.source)] : [])];
  const release = deps.locks.tryAcquire(keys, `volume name ${JSON.stringify(cmd.name)} or its source`);
  try {
    const existing = deps.catalog.getVolumeByName(cmd.name);
    if (existing) return answerExisting(existing, cmd, accessType);
    refuseQuarantinedName(deps, cmd.name);
    const source = cmd.source ? resolveSource(deps, cmd.source) : null;
    if (source && source.accessType !== accessType) {
      throw new InvalidArgumentError(`the source holds a ${source.accessType} volume; it cannot be restored as ${accessType}`);
    }
    const { kind, fsType } = chooseKind(cmd, accessType, source);
    parseRootOwnership(cmd.parameters, kind);
    const placement = parseDirPlacement(cmd.parameters, kind, cmd.name, deps.config.volumeRoots);
    const chosen = source ? capacityForSource(deps, cmd.range, source) : chooseCapacity(cmd.range, deps.config.defaultVolumeSize, deps.config.maxVolumeSize);
    const capacity = fitMinimum(chosen, cmd.range, fsType);
    if (!requirementAllowsNode(cmd.topology, deps.config.nodeId)) {
      throw new ResourceExhaustedError(`no requisite topology includes this node (${deps.config.nodeId})`);
    }
    // A node-local shortcoming, not a bad request: RESOURCE_EXHAUSTED lets a scheduler that picked this node pick
    // another (external-provisioner reschedules on it); GetCapacity reports 0 for such a class here.
    const unsupported = backendFor(deps, kind).unsupportedReason();
    if (unsupported !== null) throw new ResourceExhaustedError(unsupported);
    const id = deps.newId();
    const claimed = placement ? await claimDataDir(deps, placement, id) : null;
    const record: VolumeRecord = {
      id,
      name: cmd.name,
      capacityBytes: capacity.toString(),
      kind,
      ...(fsType !== null ? { fsType } : {}),
      accessType,
      parameters: cmd.parameters,
      mutableParameters: cmd.mutableParameters,
      nodeId: deps.config.nodeId,
      contentSource: cmd.source,
      phase: 'creating',
      createdAt: deps.now().toISOString(),
      ...(claimed ? { dataDir: claimed.dataDir } : {}),
    };
    try {
      return await materialise(deps, record, source?.dir ?? null, log);
    } finally {
      claimed?.release();
    }
  } finally {
    release();
  }
}

/**
 * Record first (phase creating), then storage and its initial data, then phase ready: a crash in between is rolled
 * back at start-up, and a failed copy leaves nothing behind.
 */
async function materialise(deps: ControllerDeps, draft: VolumeRecord, sourceDir: string | null, log: Logger): Promise<VolumeRecord> {
  const backend = backendFor(deps, draft.kind);
  // Synchronously after the name lock was taken: what prepare hands out (a project ID) is this volume's alone.
  const record = backend.prepare(draft);
  await deps.catalog.putVolume(record);
  try {
    await backend.create(record);
    if (sourceDir !== null) await backend.populateFrom(record, sourceDir);
    const ready: VolumeRecord = { ...record, phase: 'ready' };
    await deps.catalog.putVolume(ready);
    log.info({ volumeId: record.id, capacityBytes: record.capacityBytes, kind: record.kind }, 'volume created');
    return ready;
  } catch (err) {
    await backend.remove(record).catch((e: unknown) => log.error({ err: e, volumeId: record.id }, 'rollback of failed create left storage behind'));
    await deps.catalog.deleteVolume(record).catch((e: unknown) => log.error({ err: e, volumeId: record.id }, 'rollback of failed create left a record behind'));
    throw err;
  }
}

/**
 * CSI spec, CreateVolume: a volume with this name exists but the driver cannot show it is compatible (its record is
 * unreadable) — ALREADY_EXISTS, the spec's answer for a name taken by a volume that does not match the request.
 * Answering OK would hand out a volume the driver cannot describe; making a new one would orphan the old one's data.
 */
function refuseQuarantinedName(deps: Pick<ControllerDeps, 'catalog'>, name: string): void {
  const id = deps.catalog.quarantinedVolumeNamed(name);
  if (id === undefined) return;
  const movedTo = deps.catalog.quarantinedVolume(id) ?? 'the quarantine folder';
  throw new AlreadyExistsError(`volume ${JSON.stringify(name)} already exists as ${id}, whose state record is unreadable (moved to ${movedTo}); repair the record or delete its data by hand`);
}

export async function deleteVolume(deps: ControllerDeps, volumeId: string, log: Logger): Promise<void> {
  if (isStaticVolumeId(volumeId)) {
    // An administrator's directory (src/volumes/static.ts): the driver made nothing for it and removes nothing.
    log.info({ volumeId }, 'static volume: DeleteVolume leaves its directory alone');
    return;
  }
  refuseIfQuarantined(deps, volumeId);
  const existing = deps.catalog.getVolume(volumeId);
  // CSI spec, DeleteVolume: a volume that does not exist counts as deleted.
  if (!existing) return;
  const keys = [volumeLockKey(volumeId), volumeNameLockKey(existing.name)];
  await deps.locks.with(keys, `volume ${volumeId}`, async () => {
    const published = deps.catalog.attachmentsOf(volumeId).map((a) => a.nodeId);
    if (published.length > 0) throw new FailedPreconditionError(`volume ${volumeId} is still published to ${published.join(', ')}`);
    // An unreadable attachment record may say it is published: deleting now could pull the data from under a pod.
    const unreadable = deps.catalog.quarantinedAttachmentsOf(volumeId);
    if (unreadable.length > 0) {
      throw new FailedPreconditionError(`volume ${volumeId} has an unreadable attachment record (quarantined); ControllerUnpublishVolume it first`);
    }
    await finishDelete(deps, existing, log);
  });
}

/** phase deleting, then storage removed, then the record: a crash at any point is finished at start-up. */
export async function finishDelete(deps: ControllerDeps, record: VolumeRecord, log: Logger): Promise<void> {
  if (record.phase !== 'deleting') await deps.catalog.putVolume({ ...record, phase: 'deleting' }, { freeing: true });
  await backendFor(deps, record.kind).remove(record);
  await deps.catalog.deleteVolume(record);
  log.info({ volumeId: record.id }, 'volume deleted');
}

/**
 * A volume whose record was unreadable at start-up still has its data: it is neither gone (NOT_FOUND would let a CO
 * forget it) nor usable. Every call on it answers FAILED_PRECONDITION, naming where the record went.
 */
export function refuseIfQuarantined(deps: Pick<ControllerDeps, 'catalog'>, volumeId: string): void {
  const movedTo = deps.catalog.quarantinedVolume(volumeId);
  if (movedTo !== undefined) throw quarantinedError('volume', volumeId, movedTo);
}

export function requireReadyVolume(deps: Pick<ControllerDeps, 'catalog'>, volumeId: string): VolumeRecord {
  refuseIfQuarantined(deps, volumeId);
  const vol = deps.catalog.getVolume(volumeId);
  if (!vol || vol.phase === 'deleting') throw new NotFoundError(`volume ${volumeId} does not exist`);
  if (vol.phase === 'creating') throw new AbortedError(`volume ${volumeId} is still being created`);
  return vol;
}

export interface ExpandResult {
  capacityBytes: bigint;
  nodeExpansionRequired: boolean;
}

/**
 * CSI spec, ControllerExpandVolume (and NodeExpandVolume when the node drives expansion): grow to at least
 * required_bytes; never shrink (a limit_bytes below the current size is OUT_OF_RANGE); a no-op when already big
 * enough. The storage grows before the record says so, so the record never promises more than is there.
 */
export async function expandVolume(deps: ControllerDeps, volumeId: string, range: SizeRange, log: Logger): Promise<ExpandResult> {
  return deps.locks.with([volumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    const vol = requireReadyVolume(deps, volumeId);
    const current = BigInt(vol.capacityBytes);
    if (range.limit > 0n && current > range.limit) {
      throw new OutOfRangeError(`volume is already ${current} bytes, more than limit_bytes ${range.limit}; volumes cannot shrink`);
    }
    const wanted = range.required > 0n ? range.required : range.limit;
    if (wanted <= current) return { capacityBytes: current, nodeExpansionRequired: false };
    refuseAboveMax(wanted, deps.config.maxVolumeSize, `requested ${wanted} bytes`);
    const backend = backendFor(deps, vol.kind);
    // Room for the record before the storage grows: a full state filesystem fails here with nothing changed.
    await deps.catalog.volumes.ensureRoom();
    await backend.expand(vol, wanted);
    await deps.catalog.putVolume({ ...vol, capacityBytes: wanted.toString() });
    log.info({ volumeId, from: current.toString(), to: wanted.toString() }, 'volume expanded');
    return { capacityBytes: wanted, nodeExpansionRequired: backend.growsOnNode };
  });
}

/** CSI spec, ControllerModifyVolume: only keys in --mutable-parameters; the new values are merged and kept. */
export async function modifyVolume(deps: ControllerDeps, volumeId: string, params: Record<string, string>, log: Logger): Promise<void> {
  checkMutableKeys(deps, 'mutable_parameters', params);
  await deps.locks.with([volumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
    const vol = requireReadyVolume(deps, volumeId);
    await deps.catalog.putVolume({ ...vol, mutableParameters: { ...vol.mutableParameters, ...params } });
    log.info({ volumeId, keys: Object.keys(params) }, 'volume modified');
  });
}

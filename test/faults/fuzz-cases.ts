import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { capabilityOf, VOLUME_KINDS } from './kinds';
import { badMountFlags, badNodePaths, bogusModes, garbageTokens, hugeSizes, malformedIds, nastyStrings, negativeSizes, secretMaps, unknownIds, type FuzzPaths } from './fuzz-values';

export type FuzzService = 'identity' | 'controller' | 'groupController' | 'node';

/** One request and every code the CSI spec (and this driver's documented contract) allows for it. */
export interface FuzzCase {
  service: FuzzService;
  rpc: string;
  defect: string;
  request: Record<string, unknown>;
  expect: readonly number[];
}

/** Real objects the valid parts of requests point at, made before fuzzing starts. */
export interface Fixtures {
  nodeId: string;
  dirVolume: string;
  blockVolume: string;
  snapshot: string;
  stagingPath: string;
  targetPath: string;
  secretMarker: string;
  paths: FuzzPaths;
}

type Req = Record<string, unknown>;
const { OK, INVALID_ARGUMENT: INVALID, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE, ABORTED, FAILED_PRECONDITION } = status;

/** Codes a request with random content may get; never UNKNOWN or INTERNAL. */
export const ANY_SPEC_CODE = [OK, INVALID, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE, ABORTED, status.RESOURCE_EXHAUSTED] as const;

interface Rpc {
  service: FuzzService;
  rpc: string;
  /** A valid request (its code is `baseExpect`) built fresh per case. */
  base: (f: Fixtures) => fc.Arbitrary<Req>;
  baseExpect: readonly number[];
  /** One defect each: a field set to one kind of bad value, and the code the spec calls for. */
  defects: (f: Fixtures) => Array<[string, fc.Arbitrary<(r: Req) => Req>, readonly number[]]>;
}

const set = (field: string) => (value: unknown) => (r: Req): Req => ({ ...r, [field]: value });
const mountCap = capabilityOf(VOLUME_KINDS.find((k) => k.accessType === 'mount')!);
const blockCap = capabilityOf(VOLUME_KINDS.find((k) => k.accessType === 'block')!);

/** Capability defects, all INVALID_ARGUMENT (CSI spec: a capability the plugin cannot understand). */
function capabilityDefects(field: string, list: boolean): Array<[string, fc.Arbitrary<(r: Req) => Req>, readonly number[]]> {
  const wrap = (cap: unknown): unknown => (list ? [cap] : cap);
  return [
    [`${field} missing`, fc.constant(set(field)(list ? [] : null)), [INVALID]],
    [`${field} with no access mode`, fc.constant(set(field)(wrap({ mount: { fs_type: '', mount_flags: [] } }))), [INVALID]],
    [`${field} with an unknown access mode`, bogusModes.map((m) => set(field)(wrap({ access_mode: { mode: m }, mount: {} }))), [INVALID]],
    [`${field} with no access type`, fc.constant(set(field)(wrap({ access_mode: { mode: 'SINGLE_NODE_WRITER' } }))), [INVALID]],
    [`${field} with a bad mount flag`, badMountFlags.map((flag) => set(field)(wrap({ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { mount_flags: [flag] } }))), [INVALID]],
  ];
}

function idDefects(field: string, f: Fixtures, unknown: readonly number[]): Array<[string, fc.Arbitrary<(r: Req) => Req>, readonly number[]]> {
  return [
    [`${field} missing`, fc.constant(set(field)('')), [INVALID]],
    [`${field} malformed`, malformedIds(f.paths).map(set(field)), [INVALID]],
    [`${field} of nothing`, unknownIds.map(set(field)), unknown],
  ];
}

function pathDefects(field: string, f: Fixtures): Array<[string, fc.Arbitrary<(r: Req) => Req>, readonly number[]]> {
  return [
    [`${field} missing`, fc.constant(set(field)('')), [INVALID]],
    [`${field} bad`, badNodePaths(f.paths).map((p) => set(field)(p.path)), [INVALID]],
  ];
}

function rangeDefects(field: string): Array<[string, fc.Arbitrary<(r: Req) => Req>, readonly number[]]> {
  return [
    [`${field}.required_bytes negative`, negativeSizes.map((n) => set(field)({ required_bytes: n, limit_bytes: '0' })), [INVALID]],
    [`${field}.limit_bytes negative`, negativeSizes.map((n) => set(field)({ required_bytes: '0', limit_bytes: n })), [INVALID]],
    [`${field}.limit_bytes below required_bytes`, fc.integer({ min: 2, max: 2 ** 30 }).map((n) => set(field)({ required_bytes: String(n), limit_bytes: String(n - 1) })), [INVALID]],
  ];
}

const withSecrets = (f: Fixtures, base: Req): fc.Arbitrary<Req> => secretMaps(f.secretMarker).map((secrets) => ({ ...base, secrets }));

export const RPCS: Rpc[] = [
  { service: 'identity', rpc: 'GetPluginInfo', base: () => fc.constant({}), baseExpect: [OK], defects: () => [] },
  { service: 'identity', rpc: 'Probe', base: () => fc.constant({}), baseExpect: [OK], defects: () => [] },
  {
    service: 'controller',
    rpc: 'CreateVolume',
    // Names from a small pool: repeats are the idempotent path (OK), or ALREADY_EXISTS when the pool name was taken
    // with another size; a new name per case would fill the disk with volumes.
    base: (f) => fc.record({ n: fc.integer({ min: 0, max: 3 }), mib: fc.constantFrom(1, 2) }).chain(({ n, mib }) =>
      withSecrets(f, { name: `fuzz-pool-${n}`, capacity_range: { required_bytes: String(mib << 20) }, volume_capabilities: [mountCap] })),
    baseExpect: [OK, ALREADY_EXISTS],
    defects: (f) => [
      ['name missing', fc.constant(set('name')('')), [INVALID]],
      ['name with NUL or over 256 bytes', fc.oneof(fc.constant('a\0b'), fc.string({ minLength: 257, maxLength: 2000 }).filter((s) => Buffer.byteLength(s) > 256)).map(set('name')), [INVALID]],
      ...capabilityDefects('volume_capabilities', true),
      ...rangeDefects('capacity_range').map(([d, a, c]): [string, fc.Arbitrary<(r: Req) => Req>, readonly number[]] => [d, a.map((g) => (r: Req) => ({ ...g(r), name: 'fuzz-never-created' })), c]),
      ['capacity above --max-volume-size', hugeSizes.map((n) => (r: Req) => ({ ...r, name: 'fuzz-never-created', capacity_range: { required_bytes: n } })), [OUT_OF_RANGE]],
      ['source snapshot of nothing', unknownIds.map((id) => (r: Req) => ({ ...r, name: 'fuzz-never-created', volume_content_source: { snapshot: { snapshot_id: id } } })), [NOT_FOUND]],
      ['source volume malformed', malformedIds(f.paths).map((id) => (r: Req) => ({ ...r, name: 'fuzz-never-created', volume_content_source: { volume: { volume_id: id } } })), [INVALID]],
      ['content source with neither kind', fc.constant((r: Req) => ({ ...r, name: 'fuzz-never-created', volume_content_source: {} })), [INVALID]],
      ['mutable parameter not allowed', nastyStrings(f.paths).filter((k) => k !== 'iops').map((k) => (r: Req) => ({ ...r, name: 'fuzz-never-created', mutable_parameters: { [k]: 'x' } })), [INVALID]],
      ['over 128 parameters', fc.constant((r: Req) => ({ ...r, name: 'fuzz-never-created', parameters: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'])) })), [INVALID]],
      ['requisite topology of another node', nastyStrings(f.paths).filter((n) => n !== f.nodeId).map((n) => (r: Req) => ({ ...r, name: 'fuzz-never-created', accessibility_requirements: { requisite: [{ segments: { 'topology.hostpath.csi.dev/node': n } }] } })), [status.RESOURCE_EXHAUSTED]],
    ],
  },
  {
    service: 'controller',
    rpc: 'DeleteVolume',
    base: (f) => unknownIds.chain((id) => withSecrets(f, { volume_id: id })),
    baseExpect: [OK],
    defects: (f) => idDefects('volume_id', f, [OK]).slice(0, 2),
  },
  {
    service: 'controller',
    rpc: 'ControllerPublishVolume',
    base: (f) => withSecrets(f, { volume_id: f.dirVolume, node_id: f.nodeId, volume_capability: mountCap, readonly: false }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ['node_id missing', fc.constant(set('node_id')('')), [INVALID]],
      ['node_id of another node', nastyStrings(f.paths).filter((n) => n !== '' && !n.includes('\0') && Buffer.byteLength(n) <= 256 && n !== f.nodeId).map(set('node_id')), [NOT_FOUND]],
      ...capabilityDefects('volume_capability', false),
      ['block capability on a filesystem volume', fc.constant(set('volume_capability')(blockCap)), [INVALID]],
      ['readonly differs from the existing publish', fc.constant(set('readonly')(true)), [ALREADY_EXISTS]],
    ],
  },
  {
    service: 'controller',
    rpc: 'ControllerUnpublishVolume',
    base: (f) => unknownIds.chain((id) => withSecrets(f, { volume_id: id, node_id: f.nodeId })),
    baseExpect: [OK],
    defects: (f) => idDefects('volume_id', f, [OK]).slice(0, 2),
  },
  {
    service: 'controller',
    rpc: 'ValidateVolumeCapabilities',
    base: (f) => fc.constant({ volume_id: f.dirVolume, volume_capabilities: [mountCap] }),
    baseExpect: [OK],
    defects: (f) => [...idDefects('volume_id', f, [NOT_FOUND]), ...capabilityDefects('volume_capabilities', true)],
  },
  {
    service: 'controller',
    rpc: 'ListVolumes',
    base: () => fc.constant({}),
    baseExpect: [OK],
    defects: () => [
      ['max_entries negative', fc.integer({ min: -(2 ** 31), max: -1 }).map(set('max_entries')), [INVALID]],
      ['starting_token never issued', garbageTokens.map(set('starting_token')), [ABORTED]],
    ],
  },
  {
    service: 'controller',
    rpc: 'GetCapacity',
    base: () => fc.constant({}),
    baseExpect: [OK],
    defects: () => capabilityDefects('volume_capabilities', true).slice(1),
  },
  {
    service: 'controller',
    rpc: 'ControllerExpandVolume',
    base: (f) => withSecrets(f, { volume_id: f.dirVolume, capacity_range: { required_bytes: String(8 << 20) } }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ['capacity_range missing', fc.constant(set('capacity_range')(null)), [INVALID]],
      ['capacity_range empty', fc.constant(set('capacity_range')({ required_bytes: '0', limit_bytes: '0' })), [INVALID]],
      ...rangeDefects('capacity_range'),
      ['capacity above --max-volume-size', hugeSizes.map((n) => set('capacity_range')({ required_bytes: n })), [OUT_OF_RANGE]],
      ['limit below the current size (a shrink)', fc.integer({ min: 1, max: 1 << 20 }).map((n) => set('capacity_range')({ required_bytes: '0', limit_bytes: String(n) })), [OUT_OF_RANGE]],
    ],
  },
  {
    service: 'controller',
    rpc: 'ControllerGetVolume',
    base: (f) => fc.constant({ volume_id: f.dirVolume }),
    baseExpect: [OK],
    defects: (f) => idDefects('volume_id', f, [NOT_FOUND]),
  },
  {
    service: 'controller',
    rpc: 'ControllerModifyVolume',
    base: (f) => fc.string({ maxLength: 10 }).chain((v) => withSecrets(f, { volume_id: f.dirVolume, mutable_parameters: { iops: v } })),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ['a parameter not in --mutable-parameters', nastyStrings(f.paths).filter((k) => k !== 'iops').map((k) => set('mutable_parameters')({ [k]: 'v' })), [INVALID]],
    ],
  },
  {
    service: 'controller',
    rpc: 'CreateSnapshot',
    base: (f) => fc.integer({ min: 0, max: 2 }).chain((n) => withSecrets(f, { name: `fuzz-snap-${n}`, source_volume_id: f.dirVolume })),
    baseExpect: [OK],
    defects: (f) => [
      ['name missing', fc.constant(set('name')('')), [INVALID]],
      ...idDefects('source_volume_id', f, [NOT_FOUND]).map(([d, a, c]): [string, fc.Arbitrary<(r: Req) => Req>, readonly number[]] => [d, a.map((g) => (r: Req) => ({ ...g(r), name: 'fuzz-snap-never' })), c]),
      ['name taken by a snapshot of another volume', fc.constant(set('source_volume_id')(f.blockVolume)), [ALREADY_EXISTS]],
    ],
  },
  {
    service: 'controller',
    rpc: 'DeleteSnapshot',
    base: (f) => unknownIds.chain((id) => withSecrets(f, { snapshot_id: id })),
    baseExpect: [OK],
    defects: (f) => idDefects('snapshot_id', f, [OK]).slice(0, 2),
  },
  {
    service: 'controller',
    rpc: 'ListSnapshots',
    base: (f) => fc.constantFrom({}, { snapshot_id: f.snapshot }, { source_volume_id: f.dirVolume }),
    baseExpect: [OK],
    defects: () => [
      ['max_entries negative', fc.integer({ min: -(2 ** 31), max: -1 }).map(set('max_entries')), [INVALID]],
      ['starting_token never issued', garbageTokens.map(set('starting_token')), [ABORTED]],
    ],
  },
  {
    service: 'controller',
    rpc: 'GetSnapshot',
    base: (f) => fc.constant({ snapshot_id: f.snapshot }),
    baseExpect: [OK],
    defects: (f) => idDefects('snapshot_id', f, [NOT_FOUND]),
  },
  {
    service: 'groupController',
    rpc: 'CreateVolumeGroupSnapshot',
    base: (f) => withSecrets(f, { name: 'fuzz-group-0', source_volume_ids: [f.dirVolume] }),
    baseExpect: [OK],
    defects: (f) => [
      ['name missing', fc.constant(set('name')('')), [INVALID]],
      ['no source volumes', fc.constant((r: Req) => ({ ...r, name: 'fuzz-group-never', source_volume_ids: [] })), [INVALID]],
      ['a malformed source volume', malformedIds(f.paths).map((id) => (r: Req) => ({ ...r, name: 'fuzz-group-never', source_volume_ids: [f.dirVolume, id] })), [INVALID]],
      ['a source volume of nothing', unknownIds.map((id) => (r: Req) => ({ ...r, name: 'fuzz-group-never', source_volume_ids: [id] })), [NOT_FOUND]],
    ],
  },
  {
    service: 'groupController',
    rpc: 'GetVolumeGroupSnapshot',
    base: () => unknownIds.map((id) => ({ group_snapshot_id: id })),
    baseExpect: [NOT_FOUND],
    defects: (f) => idDefects('group_snapshot_id', f, [NOT_FOUND]).slice(0, 2),
  },
  {
    service: 'groupController',
    rpc: 'DeleteVolumeGroupSnapshot',
    base: (f) => unknownIds.chain((id) => withSecrets(f, { group_snapshot_id: id })),
    baseExpect: [OK],
    defects: (f) => idDefects('group_snapshot_id', f, [OK]).slice(0, 2),
  },
  {
    service: 'node',
    rpc: 'NodeStageVolume',
    base: (f) => withSecrets(f, { volume_id: f.dirVolume, staging_target_path: f.stagingPath, volume_capability: mountCap }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ...pathDefects('staging_target_path', f),
      ...capabilityDefects('volume_capability', false),
      ['block capability on a filesystem volume', fc.constant(set('volume_capability')(blockCap)), [INVALID]],
      ['a second staging path', fc.constant(set('staging_target_path')(`${f.paths.kubelet}/other-staging`)), [FAILED_PRECONDITION]],
    ],
  },
  {
    service: 'node',
    rpc: 'NodeUnstageVolume',
    base: (f) => unknownIds.map((id) => ({ volume_id: id, staging_target_path: `${f.paths.kubelet}/nothing-staged` })),
    baseExpect: [OK],
    defects: (f) => [...idDefects('volume_id', f, [OK]).slice(0, 2), ...pathDefects('staging_target_path', f)],
  },
  {
    service: 'node',
    rpc: 'NodePublishVolume',
    base: (f) => withSecrets(f, { volume_id: f.dirVolume, staging_target_path: f.stagingPath, target_path: f.targetPath, volume_capability: mountCap, readonly: false }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ...pathDefects('target_path', f),
      ...pathDefects('staging_target_path', f),
      ...capabilityDefects('volume_capability', false),
      ['readonly differs from the existing publish', fc.constant(set('readonly')(true)), [ALREADY_EXISTS]],
      ['inline volume with a size that is not a quantity', nastyStrings(f.paths).filter((s) => s.trim() !== '' && !/^\d/.test(s.trim())).map((size) => (r: Req) => ({ ...r, volume_id: 'fuzz-inline', volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', size } })), [INVALID]],
      ['inline volume above --max-volume-size', fc.constantFrom('2Gi', '8Ei', '9223372036854775807').map((size) => (r: Req) => ({ ...r, volume_id: 'fuzz-inline', volume_context: { 'csi.storage.k8s.io/ephemeral': 'true', size } })), [OUT_OF_RANGE]],
    ],
  },
  {
    service: 'node',
    rpc: 'NodeUnpublishVolume',
    base: (f) => unknownIds.map((id) => ({ volume_id: id, target_path: `${f.paths.kubelet}/nothing-published` })),
    baseExpect: [OK],
    defects: (f) => [...idDefects('volume_id', f, [OK]).slice(0, 2), ...pathDefects('target_path', f)],
  },
  {
    service: 'node',
    rpc: 'NodeGetVolumeStats',
    base: (f) => fc.constant({ volume_id: f.dirVolume, volume_path: f.targetPath }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ['volume_path missing', fc.constant(set('volume_path')('')), [INVALID]],
      // CSI spec, NodeGetVolumeStats: a volume_path that does not hold the volume is NOT_FOUND.
      ['volume_path bad', badNodePaths(f.paths).map((p) => set('volume_path')(p.path)), [NOT_FOUND]],
    ],
  },
  {
    service: 'node',
    rpc: 'NodeExpandVolume',
    base: (f) => fc.constant({ volume_id: f.dirVolume, volume_path: f.targetPath, capacity_range: { required_bytes: String(1 << 20) } }),
    baseExpect: [OK],
    defects: (f) => [
      ...idDefects('volume_id', f, [NOT_FOUND]),
      ['volume_path missing', fc.constant(set('volume_path')('')), [INVALID]],
      ['volume_path bad', badNodePaths(f.paths).map((p) => set('volume_path')(p.path)), [NOT_FOUND]],
      ...rangeDefects('capacity_range'),
    ],
  },
  { service: 'node', rpc: 'NodeGetInfo', base: () => fc.constant({}), baseExpect: [OK], defects: () => [] },
];

/**
 * Cases over every RPC: a third valid requests (the idempotent path, with secrets), the rest one defect each with
 * the exact code it calls for. Random values inside every field come from the arbitraries.
 */
export function fuzzCases(f: Fixtures): fc.Arbitrary<FuzzCase> {
  const perRpc = RPCS.map((r) => {
    const defects = r.defects(f);
    const valid = r.base(f).map((request): FuzzCase => ({ service: r.service, rpc: r.rpc, defect: 'none (valid)', request, expect: r.baseExpect }));
    if (defects.length === 0) return valid;
    const broken = fc.integer({ min: 0, max: defects.length - 1 }).chain((i) => {
      const [name, patch, codes] = defects[i]!;
      return fc.tuple(r.base(f), patch).map(([base, g]): FuzzCase => ({ service: r.service, rpc: r.rpc, defect: name, request: g(base), expect: codes }));
    });
    return fc.oneof({ arbitrary: valid, weight: 1 }, { arbitrary: broken, weight: 2 });
  });
  return fc.oneof(...perRpc);
}

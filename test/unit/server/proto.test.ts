import { loadPackageDefinition, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCsiProto, loaderOptions } from '../../../src/server/proto';

const ROOT = path.join(__dirname, '..', '..', '..');

type Services = Record<string, ServiceClientConstructor>;

/** What the server was built on before: proto-loader parsing csi.proto with the same options. */
function protoLoaderServices(): Services {
  const def = loadSync(path.join(ROOT, 'proto', 'csi.proto'), loaderOptions());
  const v1 = (loadPackageDefinition(def) as unknown as { csi: { v1: Services } }).csi.v1;
  return v1;
}

function ours(): Services {
  return loadCsiProto().csi.v1 as unknown as Services;
}

function method(services: Services, service: string, name: string): ServiceDefinition[string] {
  const m = services[service]!.service[name];
  if (m === undefined) throw new Error(`${service}.${name} missing`);
  return m;
}

// Requests and responses that use every conversion the options select: int64 as strings, enums as names, a oneof,
// maps (secrets, parameters), a wrapper type (Probe's BoolValue), a Timestamp, nested repeated messages, defaults.
const SAMPLES: [string, string, 'request' | 'response', object][] = [
  ['Controller', 'CreateVolume', 'request', {
    name: 'pvc-1', capacity_range: { required_bytes: '1073741824', limit_bytes: '9223372036854775807' },
    volume_capabilities: [{ mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' } },
      { block: {}, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } }],
    parameters: { kind: 'dir' }, secrets: { token: 's3cret' },
    volume_content_source: { snapshot: { snapshot_id: 'snap-1' } },
    accessibility_requirements: { requisite: [{ segments: { 'topology.hostpath.csi/node': 'n1' } }] },
  }],
  ['Controller', 'CreateVolume', 'response', { volume: { volume_id: 'v1', capacity_bytes: '0', volume_context: { a: 'b' } } }],
  ['Controller', 'CreateSnapshot', 'response', { snapshot: { snapshot_id: 's', source_volume_id: 'v', size_bytes: '42', ready_to_use: true, creation_time: { seconds: '1795864838', nanos: 5 } } }],
  ['Controller', 'ListVolumes', 'response', { entries: [{ volume: { volume_id: 'a' }, status: { published_node_ids: ['n'], volume_condition: { abnormal: true, message: 'm' } } }], next_token: '7' }],
  ['Identity', 'Probe', 'response', { ready: { value: false } }],
  ['Identity', 'GetPluginCapabilities', 'response', { capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }] }],
  ['Node', 'NodeGetVolumeStats', 'response', { usage: [{ available: '1', total: '2', used: '1', unit: 'BYTES' }] }],
  ['Node', 'NodeStageVolume', 'request', { volume_id: 'v', staging_target_path: '/s', volume_capability: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }, secrets: {} }],
  ['GroupController', 'CreateVolumeGroupSnapshot', 'request', { name: 'g', source_volume_ids: ['a', 'b'], parameters: {} }],
];

describe('the CSI services loaded from proto/csi.json', () => {
  it('offer the same services and methods as proto-loader on csi.proto', () => {
    const a = ours();
    const b = protoLoaderServices();
    for (const service of ['Identity', 'Controller', 'Node', 'GroupController']) {
      const mine = Object.entries(a[service]!.service).map(([k, m]) => [k, m.path, m.requestStream, m.responseStream, m.originalName]);
      const theirs = Object.entries(b[service]!.service).map(([k, m]) => [k, m.path, m.requestStream, m.responseStream, m.originalName]);
      expect(mine, service).toEqual(theirs);
    }
  });

  it.each(SAMPLES)('%s.%s %s: the same bytes and the same decoded object as proto-loader', (service, name, side, value) => {
    const a = method(ours(), service, name);
    const b = method(protoLoaderServices(), service, name);
    const [serialize, deserialize] = side === 'request' ? ['requestSerialize', 'requestDeserialize'] as const : ['responseSerialize', 'responseDeserialize'] as const;
    const bytes = a[serialize](value);
    expect(bytes).toEqual(b[serialize](value));
    expect(bytes.length).toBeGreaterThan(0);
    expect(a[deserialize](bytes)).toEqual(b[deserialize](bytes));
  });

  it('decodes an empty message with proto-loader defaults (oneof unset, strings empty, int64 "0")', () => {
    const a = method(ours(), 'Controller', 'CreateVolume');
    const b = method(protoLoaderServices(), 'Controller', 'CreateVolume');
    const empty = Buffer.alloc(0);
    expect(a.requestDeserialize(empty)).toEqual(b.requestDeserialize(empty));
  });

  it('comes from a proto/csi.json that matches proto/csi.proto', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'csi-json-'));
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'proto-json.js'), path.join(dir, 'csi.json')]);
      expect(readFileSync(path.join(dir, 'csi.json'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'proto', 'csi.json'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

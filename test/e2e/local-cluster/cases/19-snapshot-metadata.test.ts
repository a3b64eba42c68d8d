import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, cluster, kubectl, kubectlJson, REPO, toolEnv } from '../lib/cluster';
import { DRIVER_NAME, ensureForm, undeploy } from '../lib/deployment';
import { PLUGIN_NAMESPACE } from '../lib/node-plugin';
import { inNamespace, pvc, snapshotReady, volumeSnapshot, type CaseNamespace } from '../lib/workloads';

/**
 * Changed-block tracking through the whole Kubernetes chain (docs/snapshot-metadata.md), on the single-node form
 * with components/snapshot-metadata (pods), its TLS Secret and SnapshotMetadataService object made by
 * examples/snapshot-metadata/setup-tls.sh as users make them: a backup client with its own ServiceAccount token
 * (audience from the SnapshotMetadataService; the sidecar checks it with a TokenReview and the client's right to get
 * VolumeSnapshots with a SubjectAccessReview) asks the csi-snapshot-metadata sidecar over TLS (the CA from the object)
 * for the allocated blocks of one snapshot and the changed blocks between two.
 *
 * The client is this file, with @grpc/grpc-js and the sidecar's own API (proto/schema.proto of the
 * external-snapshot-metadata module at the sidecar's version, as build-binaries.sh fetched it from the Go module
 * proxy), not upstream's snapshot-metadata-lister: that dials the object's address, a Service name, and this cluster
 * has no DNS and no kube-proxy. The one step done by hand is that Service's resolution (serviceEndpoint): the client
 * connects to the pod the Service selects (on the host network here) and checks the certificate against the Service
 * name the object gives.
 */
const run = promisify(execFile);
const MiB = 1024 * 1024;
const BLOCK = 4096;

interface Range {
  byte_offset: string;
  size_bytes: string;
}
interface MetadataResponse {
  block_metadata_type: string;
  volume_capacity_bytes: string;
  block_metadata: Range[];
}
interface Sms {
  spec: { address: string; caCert: string; audience: string };
}

/** The sidecar's version as deploy/ pins it: the module (and proto) fetched for it is the one it was built from. */
async function sidecarProto(): Promise<string> {
  const sidecar = await readFile(path.join(REPO, 'deploy/kubernetes/components/snapshot-metadata/sidecar.yaml'), 'utf8');
  const version = /csi-snapshot-metadata:(v[0-9.]+)/.exec(sidecar)![1]!;
  return path.join(REPO, '.tools/e2e/src', `github.com_kubernetes-csi_external-snapshot-metadata@${version}`, 'proto', 'schema.proto');
}

interface ServiceObject {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
}
interface PodObject {
  status: { podIP?: string; phase: string };
  spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
}

/**
 * Where a Service's port leads, found as the endpoint controllers find it: the Service's selector, a running pod it
 * selects, that pod's address and the container port its targetPort names (what kube-proxy would route to).
 */
async function serviceEndpoint(host: string, port: number): Promise<string> {
  const [name, namespace] = host.split('.') as [string, string];
  const svc = await kubectlJson<ServiceObject>(['-n', namespace, 'get', 'service', name]);
  const target = svc.spec.ports.find((p) => p.port === port)?.targetPort;
  if (target === undefined) throw new Error(`Service ${host} has no port ${port}`);
  const selector = Object.entries(svc.spec.selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await kubectlJson<{ items: PodObject[] }>(['-n', namespace, 'get', 'pods', '-l', selector]);
  const running = pods.items.find((p) => p.status.phase === 'Running' && p.status.podIP);
  if (!running) throw new Error(`Service ${host}: no running pod`);
  const containerPort = typeof target === 'number' ? target : running.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target)?.containerPort;
  if (containerPort === undefined) throw new Error(`Service ${host}: no container port ${target}`);
  return `${running.status.podIP}:${containerPort}`;
}

/** A client of the SnapshotMetadata API at the object's address, verifying TLS against its CA and Service name. */
async function metadataClient(sms: Sms): Promise<grpc.Client & Record<string, (req: object) => grpc.ClientReadableStream<MetadataResponse>>> {
  const [host, port] = sms.spec.address.split(':') as [string, string];
  const definition = loadSync(await sidecarProto(), { keepCase: true, longs: String, enums: String, defaults: true });
  const Service = (grpc.loadPackageDefinition(definition)['snapshotmetadata'] as grpc.GrpcObject)['SnapshotMetadata'] as grpc.ServiceClientConstructor;
  const credentials = grpc.credentials.createSsl(Buffer.from(sms.spec.caCert, 'base64'));
  const target = await serviceEndpoint(host, Number(port));
  return new Service(target, credentials, { 'grpc.ssl_target_name_override': host, 'grpc.default_authority': host }) as never;
}

/** Every message of one server stream. */
function collect(stream: grpc.ClientReadableStream<MetadataResponse>): Promise<MetadataResponse[]> {
  return new Promise((resolve, reject) => {
    const messages: MetadataResponse[] = [];
    stream.on('data', (m: MetadataResponse) => messages.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(messages));
  });
}

const ranges = (messages: MetadataResponse[]) => messages.flatMap((m) => m.block_metadata).map((r) => [Number(r.byte_offset), Number(r.size_bytes)]);

/** Random data over whole 4 KiB blocks of the PVC's device, flushed to the volume before dd exits. */
const write = (ns: CaseNamespace, block: number, count: number) =>
  ns.exec('writer', `dd if=/dev/urandom of=/dev/xvda bs=${BLOCK} seek=${block} count=${count} conv=notrunc,fsync 2>/dev/null; sync`);

async function backupClient(ns: CaseNamespace): Promise<void> {
  await ns.kubectl(['create', 'serviceaccount', 'backup-client']);
  await ns.kubectl(['create', 'role', 'read-snapshots', '--verb=get,list', '--resource=volumesnapshots.snapshot.storage.k8s.io']);
  await ns.kubectl(['create', 'rolebinding', 'backup-client', '--role=read-snapshots', `--serviceaccount=${ns.name}:backup-client`]);
}

async function snapshotHandle(ns: CaseNamespace, name: string): Promise<string> {
  const snap = await ns.get<{ status: { boundVolumeSnapshotContentName: string } }>('volumesnapshot', name);
  const content = await kubectlJson<{ status: { snapshotHandle: string } }>(['get', 'volumesnapshotcontent', snap.status.boundVolumeSnapshotContentName]);
  return content.status.snapshotHandle;
}

describe('SnapshotMetadata through csi-snapshot-metadata (components/snapshot-metadata, examples/snapshot-metadata)', () => {
  beforeAll(async () => {
    // The sidecar mounts the TLS Secret, so it must exist before the pod can start: the namespace and Secret first,
    // as docs/snapshot-metadata.md orders it (the overlay's apply adopts the namespace).
    await undeploy();
    await apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: PLUGIN_NAMESPACE } }]);
    await run('bash', [path.join(REPO, 'examples/snapshot-metadata/setup-tls.sh'), DRIVER_NAME], {
      env: { ...toolEnv, PATH: `${cluster.bin}:${process.env.PATH ?? ''}`, KUBECONFIG: cluster.kubeconfig },
      timeout: 120_000,
    });
    await ensureForm('single-node-snapshot-metadata', 'pods');
  }, 600_000);
  afterAll(async () => {
    await kubectl(['delete', 'snapshotmetadataservice', DRIVER_NAME, '--ignore-not-found']);
  });

  it('GetMetadataAllocated of snapshot 1 and GetMetadataDelta from 1 to 2 give exactly the blocks written, to an authorised client only', () =>
    inNamespace('snapshot-metadata', 300_000, async (ns) => {
      await backupClient(ns);
      await ns.create(pvc('disk', { volumeMode: 'Block', size: '64Mi' }));
      await ns.startPod('writer', { claim: 'disk', block: true });
      await write(ns, 256, 16); // 1 MiB, 64 KiB
      await write(ns, 2048, 1); // 8 MiB, 4 KiB
      await ns.create(volumeSnapshot('snap-1', 'disk'));
      await snapshotReady(ns, 'snap-1');
      await write(ns, 260, 1); // 1 MiB + 16 KiB, 4 KiB, over what snap-1 holds
      await write(ns, 1024, 2); // 4 MiB, 8 KiB, new
      await ns.create(volumeSnapshot('snap-2', 'disk'));
      await snapshotReady(ns, 'snap-2');

      const sms = await kubectlJson<Sms>(['get', 'snapshotmetadataservice', DRIVER_NAME]);
      const token = (await ns.kubectl(['create', 'token', 'backup-client', `--audience=${sms.spec.audience}`])).trim();
      const client = await metadataClient(sms);
      try {
        const allocated = await collect(client['getMetadataAllocated']!({ security_token: token, namespace: ns.name, snapshot_name: 'snap-1', starting_offset: 0, max_results: 0 }));
        expect(allocated.every((m) => m.block_metadata_type === 'VARIABLE_LENGTH' && m.volume_capacity_bytes === String(64 * MiB))).toBe(true);
        expect(ranges(allocated)).toEqual([[1 * MiB, 64 * 1024], [8 * MiB, BLOCK]]);

        const base = await snapshotHandle(ns, 'snap-1');
        const delta = await collect(client['getMetadataDelta']!({ security_token: token, namespace: ns.name, base_snapshot_id: base, target_snapshot_name: 'snap-2', starting_offset: 0, max_results: 0 }));
        expect(ranges(delta)).toEqual([[4 * MiB, 2 * BLOCK], [1 * MiB + 16 * 1024, BLOCK]].sort((a, b) => a[0]! - b[0]!));

        // A token for another audience: the sidecar's TokenReview fails it.
        const stranger = (await ns.kubectl(['create', 'token', 'backup-client', '--audience=someone-else'])).trim();
        const refused = await collect(client['getMetadataAllocated']!({ security_token: stranger, namespace: ns.name, snapshot_name: 'snap-1' })).catch((e: grpc.ServiceError) => e);
        expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      } finally {
        client.close();
      }
      await ns.deletePod('writer');
    }));
});

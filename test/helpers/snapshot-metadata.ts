import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { GetMetadataAllocatedResponse__Output } from '../../src/generated/csi/v1/GetMetadataAllocatedResponse';
import type { SnapshotMetadataClient } from '../../src/generated/csi/v1/SnapshotMetadata';
import { loadCsiProto } from '../../src/server/proto';

/** A SnapshotMetadata client on the driver's socket (the services in support/csi-client.ts do not include it). */
export function metadataClient(socketPath: string): SnapshotMetadataClient {
  return new (loadCsiProto().csi.v1.SnapshotMetadata)(`unix://${socketPath}`, credentials.createInsecure());
}

/** Everything one metadata stream said: its final code, each message's format, capacity and size, all tuples. */
export interface StreamResult {
  code: number;
  format: string[];
  capacity: string[];
  messageSizes: number[];
  tuples: Array<[number, number]>;
}

/** Reads a stream to its end (or error) and closes the client. */
export function readStream(stream: ClientReadableStream<GetMetadataAllocatedResponse__Output>, client: SnapshotMetadataClient): Promise<StreamResult> {
  const r: StreamResult = { code: status.OK, format: [], capacity: [], messageSizes: [], tuples: [] };
  return new Promise((resolve) => {
    stream.on('data', (m: GetMetadataAllocatedResponse__Output) => {
      if (!r.format.includes(m.block_metadata_type)) r.format.push(m.block_metadata_type);
      if (!r.capacity.includes(m.volume_capacity_bytes)) r.capacity.push(m.volume_capacity_bytes);
      r.messageSizes.push(m.block_metadata.length);
      for (const b of m.block_metadata) r.tuples.push([Number(b.byte_offset), Number(b.size_bytes)]);
    });
    stream.on('error', (err: ServiceError) => {
      r.code = err.code;
    });
    stream.on('status', () => {
      client.close();
      resolve(r);
    });
  });
}

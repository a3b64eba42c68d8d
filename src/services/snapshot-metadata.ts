import type { GetMetadataAllocatedRequest__Output } from '../generated/csi/v1/GetMetadataAllocatedRequest';
import type { GetMetadataAllocatedResponse } from '../generated/csi/v1/GetMetadataAllocatedResponse';
import type { GetMetadataDeltaRequest__Output } from '../generated/csi/v1/GetMetadataDeltaRequest';
import type { GetMetadataDeltaResponse } from '../generated/csi/v1/GetMetadataDeltaResponse';
import type { SnapshotMetadataHandlers } from '../generated/csi/v1/SnapshotMetadata';
import { serverStream } from '../grpc/stream';
import type { AdapterContext } from '../grpc/unary';
import { metadataAllocated, metadataDelta, type MetadataAnswer, type MetadataDeps } from '../snapshots/metadata/metadata';

/** Each message carries the format and the capacity (CSI spec: the same in every message of the stream). */
function* messages(a: MetadataAnswer): Generator<GetMetadataAllocatedResponse & GetMetadataDeltaResponse> {
  for (const page of a.pages) {
    yield {
      block_metadata_type: a.format,
      volume_capacity_bytes: String(a.capacityBytes),
      block_metadata: page.map((t) => ({ byte_offset: String(t.offset), size_bytes: String(t.size) })),
    };
  }
}

/** The CSI SnapshotMetadata service (alpha, CSI v1.10): changed-block tracking for snapshots of block volumes. */
export function snapshotMetadataHandlers(ctx: AdapterContext, deps: MetadataDeps): SnapshotMetadataHandlers {
  return {
    GetMetadataAllocated: serverStream(ctx, 'GetMetadataAllocated', async (req: GetMetadataAllocatedRequest__Output, log) =>
      messages(await metadataAllocated(deps, req.snapshot_id, { startingOffset: req.starting_offset, maxResults: req.max_results }, log)),
    ),
    GetMetadataDelta: serverStream(ctx, 'GetMetadataDelta', async (req: GetMetadataDeltaRequest__Output, log, signal) =>
      messages(
        await metadataDelta(deps, req.base_snapshot_id, req.target_snapshot_id, { startingOffset: req.starting_offset, maxResults: req.max_results }, log, signal),
      ),
    ),
  };
}

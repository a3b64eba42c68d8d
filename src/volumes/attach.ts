import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '../errors';
import type { Logger } from '../log';
import { volumeLockKey, type ControllerDeps } from './controller-deps';
import { attachmentId } from './layout';
import { requireReadyVolume } from './lifecycle';
import type { AttachmentRecord } from './model';
import type { ControllerPublishCommand as PublishCommand } from '../domain/commands';

export type { ControllerPublishCommand as PublishCommand } from '../domain/commands';


const MULTI_NODE_MODES = new Set(['MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER']);

/**
 * Records that a volume is attached to a node. The attach limit is checked against attachments plus those still
 * being written, so concurrent publishes to one node cannot overshoot it without serialising on the node.
 */
export class Attacher {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly deps: ControllerDeps) {}

  async publish(cmd: PublishCommand, log: Logger): Promise<AttachmentRecord> {
    const { deps } = this;
    return deps.locks.with([volumeLockKey(cmd.volumeId)], `volume ${cmd.volumeId}`, async () => {
      const vol = requireReadyVolume(deps, cmd.volumeId);
      // One host, one node: a volume can only ever be attached where its directory is.
      if (cmd.nodeId !== deps.config.nodeId || cmd.nodeId !== vol.nodeId) throw new NotFoundError(`node ${cmd.nodeId} is not known to this driver`);
      if (cmd.capability.accessType !== vol.accessType) {
        throw new InvalidArgumentError(`volume ${vol.id} is a ${vol.accessType} volume, not ${cmd.capability.accessType}`);
      }
      const existing = deps.catalog.attachment(cmd.volumeId, cmd.nodeId);
      if (existing) return this.answerExisting(existing, cmd);
      this.checkOtherNodes(cmd);
      return this.attach(cmd, log);
    });
  }

  private answerExisting(existing: AttachmentRecord, cmd: PublishCommand): AttachmentRecord {
    // CSI spec, ControllerPublishVolume: published with other attributes is ALREADY_EXISTS.
    if (existing.readonly !== cmd.readonly || existing.mode !== cmd.capability.mode) {
      throw new AlreadyExistsError(`volume ${cmd.volumeId} is already published to ${cmd.nodeId} with readonly=${existing.readonly}, mode ${existing.mode}`);
    }
    return existing;
  }

  private checkOtherNodes(cmd: PublishCommand): void {
    const others = this.deps.catalog.attachmentsOf(cmd.volumeId).filter((a) => a.nodeId !== cmd.nodeId);
    if (others.length > 0 && !MULTI_NODE_MODES.has(cmd.capability.mode)) {
      throw new FailedPreconditionError(`volume ${cmd.volumeId} is published to node ${others[0]!.nodeId} and mode ${cmd.capability.mode} allows one node`);
    }
  }

  private async attach(cmd: PublishCommand, log: Logger): Promise<AttachmentRecord> {
    const { deps } = this;
    const limit = deps.config.maxVolumesPerNode;
    const pending = this.inFlight.get(cmd.nodeId) ?? 0;
    if (limit > 0 && deps.catalog.attachCount(cmd.nodeId) + pending >= limit) {
      throw new ResourceExhaustedError(`node ${cmd.nodeId} already has its maximum of ${limit} volumes attached`);
    }
    this.inFlight.set(cmd.nodeId, pending + 1);
    try {
      const record: AttachmentRecord = {
        id: attachmentId(cmd.volumeId, cmd.nodeId),
        volumeId: cmd.volumeId,
        nodeId: cmd.nodeId,
        readonly: cmd.readonly,
        mode: cmd.capability.mode,
        createdAt: deps.now().toISOString(),
      };
      await deps.catalog.putAttachment(record);
      log.info({ volumeId: cmd.volumeId, nodeId: cmd.nodeId, readonly: cmd.readonly }, 'volume published to node');
      return record;
    } finally {
      this.inFlight.set(cmd.nodeId, (this.inFlight.get(cmd.nodeId) ?? 1) - 1);
    }
  }

  /** CSI spec, ControllerUnpublishVolume: an empty node_id means every node; what is not attached counts as done. */
  async unpublish(volumeId: string, nodeId: string, log: Logger): Promise<void> {
    const { deps } = this;
    await deps.locks.with([volumeLockKey(volumeId)], `volume ${volumeId}`, async () => {
      const targets = deps.catalog.attachmentsOf(volumeId).filter((a) => nodeId === '' || a.nodeId === nodeId);
      for (const att of targets) {
        await deps.catalog.deleteAttachment(att);
        log.info({ volumeId, nodeId: att.nodeId }, 'volume unpublished from node');
      }
      // An unreadable attachment record of this volume and node is settled by the CO's unpublish.
      for (const id of deps.catalog.quarantinedAttachmentsOf(volumeId)) {
        if ((nodeId === '' || id === attachmentId(volumeId, nodeId)) && (await deps.catalog.resolveQuarantinedAttachment(id))) {
          log.warn({ volumeId, nodeId, attachmentId: id }, 'unpublish settled an unreadable (quarantined) attachment record');
        }
      }
    });
  }
}

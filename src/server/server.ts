import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Config } from '../config';
import type { AdapterContext } from '../grpc/unary';
import type { NodeDeps } from '../node/node-deps';
import { controllerHandlers } from '../services/controller';
import { groupControllerHandlers } from '../services/group-controller';
import { identityHandlers } from '../services/identity';
import { nodeHandlers } from '../services/node';
import { loadCsiProto } from './proto';
import { prepareSocketPath, removeSocket, setSocketMode } from './socket';
import type { SnapshotDeps } from '../snapshots/catalog';
import type { MetadataDeps } from '../snapshots/metadata/metadata';
import { snapshotMetadataHandlers } from '../services/snapshot-metadata';

export interface Services {
  controller: SnapshotDeps | null;
  node: NodeDeps | null;
  snapshotMetadata?: MetadataDeps | null;
}

/** A gRPC server on the unix socket with the services this mode serves. */
export class CsiServer {
  private readonly server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  /** Only a socket this process bound is ours to remove: never another driver's live socket or someone's file. */
  private bound = false;

  constructor(
    private readonly config: Config,
    ctx: AdapterContext,
    services: Services,
  ) {
    const csi = loadCsiProto().csi.v1;
    this.server.addService(csi.Identity.service, identityHandlers(ctx, config));
    if (services.controller) {
      this.server.addService(csi.Controller.service, controllerHandlers(ctx, services.controller));
      this.server.addService(csi.GroupController.service, groupControllerHandlers(ctx, services.controller));
    }
    if (services.node) this.server.addService(csi.Node.service, nodeHandlers(ctx, services.node));
    if (services.snapshotMetadata) this.server.addService(csi.SnapshotMetadata.service, snapshotMetadataHandlers(ctx, services.snapshotMetadata));
  }

  async listen(): Promise<void> {
    const socketPath = this.config.socketPath;
    await prepareSocketPath(socketPath);
    // Create the socket owner-only, then widen to --socket-mode: it is never briefly world-writable.
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
      });
    } finally {
      process.umask(previous);
    }
    this.bound = true;
    await setSocketMode(socketPath, this.config.socketMode);
  }

  /** Stops accepting calls, lets in-flight calls finish (up to graceMs), then removes the socket. */
  async close(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.bound) await removeSocket(this.config.socketPath);
  }
}

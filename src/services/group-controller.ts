import { UnimplementedError } from '../errors';
import type { GroupControllerHandlers } from '../generated/csi/v1/GroupController';
import { unary, type AdapterContext } from '../grpc/unary';

/**
 * CSI spec, GroupController service: served so the capability RPC answers; it advertises no group capability until
 * group snapshots really work, so the CO never calls the others.
 */
export function groupControllerHandlers(ctx: AdapterContext): GroupControllerHandlers {
  const notYet = (what: string) => async (): Promise<never> => {
    throw new UnimplementedError(`${what} is not supported yet`);
  };
  return {
    GroupControllerGetCapabilities: unary(ctx, 'GroupControllerGetCapabilities', async () => ({ capabilities: [] })),
    CreateVolumeGroupSnapshot: unary(ctx, 'CreateVolumeGroupSnapshot', notYet('CreateVolumeGroupSnapshot')),
    DeleteVolumeGroupSnapshot: unary(ctx, 'DeleteVolumeGroupSnapshot', notYet('DeleteVolumeGroupSnapshot')),
    GetVolumeGroupSnapshot: unary(ctx, 'GetVolumeGroupSnapshot', notYet('GetVolumeGroupSnapshot')),
  };
}

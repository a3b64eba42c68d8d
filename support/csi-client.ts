/** gRPC clients of the driver's socket, shared by the tests and the bench (neither imports the other). */
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { ControllerClient } from '../src/generated/csi/v1/Controller';
import type { GroupControllerClient } from '../src/generated/csi/v1/GroupController';
import type { IdentityClient } from '../src/generated/csi/v1/Identity';
import type { NodeClient } from '../src/generated/csi/v1/Node';
import { loadCsiProto } from '../src/server/proto';

export interface CsiClients {
  identity: IdentityClient;
  controller: ControllerClient;
  groupController: GroupControllerClient;
  node: NodeClient;
  close(): void;
}

/** Typed clients on a unix socket, built from the same proto and loader options as the server. */
export function connectCsi(socketPath: string): CsiClients {
  const csi = loadCsiProto().csi.v1;
  const address = `unix://${socketPath}`;
  const creds = credentials.createInsecure();
  const identity = new csi.Identity(address, creds);
  const controller = new csi.Controller(address, creds);
  const groupController = new csi.GroupController(address, creds);
  const node = new csi.Node(address, creds);
  return {
    identity,
    controller,
    groupController,
    node,
    close: () => [identity, controller, groupController, node].forEach((c) => c.close()),
  };
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/** Promisifies one unary call: `await call(client.CreateVolume.bind(client), req)`. */
export function call<Req, Res>(fn: (req: Req, cb: Callback<Res>) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

/** The gRPC status code a call fails with (throws if it succeeds). */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    return (err as ServiceError).code;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

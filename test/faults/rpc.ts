import { status, type ServiceError } from '@grpc/grpc-js';
import { connectCsi, type CsiClients } from '../helpers/csi-client';

export type Answer = { ok: true; res: Record<string, unknown> } | { ok: false; code: number; details: string };

/**
 * Codes after which the sidecars and kubelet send the same request again: no answer at all (the driver is down or
 * the connection dropped), a deadline, or ABORTED (another operation on the object is in flight).
 */
export const RETRIABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.ABORTED]);

type Method = (req: unknown, opts: { deadline: Date }, cb: (err: ServiceError | null, res?: unknown) => void) => unknown;

/** Sends one request by RPC name on the service's client, with a deadline; never throws. */
export function send(clients: CsiClients, service: 'controller' | 'node' | 'identity' | 'groupController', rpc: string, request: unknown, deadlineMs = 30_000): Promise<Answer> {
  const client = clients[service] as unknown as Record<string, Method>;
  const fn = client[rpc];
  if (!fn) throw new Error(`no RPC ${service}.${rpc}`);
  return new Promise((resolve) => {
    fn.call(client, request, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      if (err) resolve({ ok: false, code: err.code ?? status.UNKNOWN, details: err.details ?? err.message });
      else resolve({ ok: true, res: res as Record<string, unknown> });
    });
  });
}

export { connectCsi };
export type { CsiClients };

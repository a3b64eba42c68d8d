import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export function createRootLogger(level: string, format: LogFormat): Logger {
  const base = { name: 'hostpath-csi' };
  if (format === 'pretty') {
    // Loaded only for --log-format pretty (start-up time and idle memory of the default JSON format do not pay for
    // it), and run as a stream in this thread: a pino.transport worker would load its worker file by a path inside
    // node_modules/pino, which the bundled build does not have. Pretty logs are for people at a terminal, not load.
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino({ level, base }, pretty({ colorize: false, destination: 2, sync: false }));
  }
  return pino({ level, base }, pino.destination({ dest: 2, sync: false }));
}

const REDACTED = '[REDACTED]';

/**
 * Returns a copy of a request that is safe to log: every field named `secrets` (the CSI spec marks them with the
 * csi_secret option, and they all carry that name) has its values replaced, at any depth.
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = key === 'secrets' ? redactMap(inner) : redactSecrets(inner);
  }
  return out;
}

function redactMap(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === undefined ? value : REDACTED;
  return Object.fromEntries(Object.keys(value as object).map((k) => [k, REDACTED]));
}

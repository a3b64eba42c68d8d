import pino, { type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export function createRootLogger(level: string, format: LogFormat): Logger {
  const base = { name: 'hostpath-csi' };
  if (format === 'pretty') {
    return pino({ level, base }, pino.transport({ target: 'pino-pretty', options: { colorize: false, destination: 2 } }));
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

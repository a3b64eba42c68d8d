import pino, { type Logger, type LoggerOptions } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * The root logger's options: ISO-8601 times, and no key twice in a line. pino writes a child's bindings and the
 * logged object side by side, so `log.child({ volumeId }).info({ volumeId }, ...)` would print "volumeId" twice (and
 * JSON parsers keep only one of them): a logged key whose value equals a binding's is left out, and one whose value
 * differs is written as `event.<key>`.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { name: 'hostpath-csi' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: (obj, _level, logger) => withoutBoundKeys(obj, logger),
    mixinMergeStrategy: (_obj, deduped) => deduped,
  };
}

export function createRootLogger(level: string, format: LogFormat): Logger {
  if (format === 'pretty') {
    // Loaded only for --log-format pretty (start-up time and idle memory of the default JSON format do not pay for
    // it), and run as a stream in this thread: a pino.transport worker would load its worker file by a path inside
    // node_modules/pino, which the bundled build does not have. Pretty logs are for people at a terminal, not load.
    const pretty = require('pino-pretty') as typeof PinoPretty;
    return pino(loggerOptions(level), pretty({ colorize: false, destination: 2, sync: false }));
  }
  return pino(loggerOptions(level), pino.destination({ dest: 2, sync: false }));
}

function withoutBoundKeys(obj: object, logger: Logger): object {
  const keys = Object.keys(obj);
  if (keys.length === 0) return obj;
  const bound: Record<string, unknown> = logger.bindings();
  if (!keys.some((k) => k in bound)) return obj;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!(k in bound)) out[k] = v;
    else if (bound[k] !== v) out[`event.${k}`] = v;
  }
  return out;
}

/** More verbose each step; SIGUSR2 walks it and wraps back to the configured level. */
const CYCLE = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** The level after `current` when SIGUSR2 arrives: one step more verbose, and from trace back to `configured`. */
export function nextLogLevel(current: string, configured: string): string {
  const at = CYCLE.indexOf(current as (typeof CYCLE)[number]);
  if (at === -1) return 'info';
  if (current === 'trace') return configured === 'trace' || configured === 'silent' ? 'info' : configured;
  return CYCLE[at + 1]!;
}

/** SIGUSR2 changes the level at run time (`kill -USR2 <pid>`; docs/observability.md), with one line saying so. */
export function cycleLevelOnSignal(log: Logger, configured: string): void {
  process.on('SIGUSR2', () => {
    const from = log.level;
    const to = nextLogLevel(from, configured);
    log.level = to;
    // At warn, so it shows at every level but error and fatal (an operator who chose those wants nothing else).
    log.warn({ from, to }, 'log level changed (SIGUSR2)');
  });
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

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { INT64_MAX, parseQuantity } from './validate/quantity';
import { packageRoot } from './package-root';

export type Mode = 'controller' | 'node' | 'all';
export type LogFormat = 'json' | 'pretty';

/** Validated, frozen configuration. Built once at start-up from flags and environment; never mutated. */
export interface Config {
  readonly endpoint: string;
  readonly socketPath: string;
  readonly nodeId: string;
  readonly driverName: string;
  readonly stateDir: string;
  readonly mode: Mode;
  readonly enableAttach: boolean;
  /**
   * true: ControllerExpandVolume grows volumes (EXPAND_VOLUME advertised). false: NodeExpandVolume does the whole
   * growth, record included, for deployments whose csi-resizer runs the trivial resizer (per-node forms).
   */
  readonly controllerExpansion: boolean;
  /** 0 means no limit. */
  readonly maxVolumesPerNode: number;
  /** null means no limit beyond free space. */
  readonly maxVolumeSize: bigint | null;
  /** Capacity given to a volume whose request names no size. */
  readonly defaultVolumeSize: bigint;
  /** Keys ControllerModifyVolume (and CreateVolume's mutable_parameters) accept. */
  readonly mutableParameters: ReadonlySet<string>;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly socketMode: number;
  /**
   * Target and staging paths must lie strictly under this directory (kubelet's root directory): a request naming any
   * other path is refused before the driver touches it.
   */
  readonly allowedPathRoot: string;
  /**
   * Directories outside the state directory where a StorageClass may put its dir volumes (parameter `root` names
   * one by key, never by path): key -> absolute path. Per node; empty by default.
   */
  readonly volumeRoots: ReadonlyMap<string, string>;
  readonly version: string;
  /** Where the Prometheus metrics server listens (src/metrics/); null: no metrics server. */
  readonly metricsAddress: ListenAddress | null;
  /**
   * Which CSI health capabilities are advertised (src/health/advertise.ts): '1.12' the VolumeCondition ones that
   * v1.12 sidecars and kubelets read, '1.13' the v1.13 health RPCs. Each version's clients reject the other's values.
   */
  readonly csiHealthApi: CsiHealthApi;
  /** The SnapshotMetadata service (src/snapshots/metadata/): off, or served with this BlockMetadataType. */
  readonly snapshotMetadata: 'off' | 'FIXED_LENGTH' | 'VARIABLE_LENGTH';
}

export type CsiHealthApi = '1.12' | '1.13';

export interface ListenAddress {
  /** '' means every interface. */
  readonly host: string;
  readonly port: number;
}

export type ParsedCommand =
  | { kind: 'run'; config: Config }
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string };

/** A bad flag or environment value; main prints the message on one line and exits non-zero. */
export class ConfigError extends Error {}

interface FlagSpec {
  name: string;
  env: string;
  help: string;
  fallback: () => string;
}

const FLAGS: readonly FlagSpec[] = [
  { name: 'endpoint', env: 'CSI_ENDPOINT', help: 'unix socket to serve on (unix:///path)', fallback: () => 'unix:///run/hostpath-csi/csi.sock' },
  { name: 'node-id', env: 'HOSTPATH_CSI_NODE_ID', help: 'this node\'s ID (default: the host name)', fallback: () => hostname() },
  { name: 'driver-name', env: 'HOSTPATH_CSI_DRIVER_NAME', help: 'CSI driver name', fallback: () => 'hostpath.csi.dev' },
  { name: 'state-dir', env: 'HOSTPATH_CSI_STATE_DIR', help: 'directory holding volumes and state records', fallback: () => '/var/lib/hostpath-csi' },
  { name: 'mode', env: 'HOSTPATH_CSI_MODE', help: 'services to serve: controller, node or all', fallback: () => 'all' },
  { name: 'enable-attach', env: 'HOSTPATH_CSI_ENABLE_ATTACH', help: 'serve ControllerPublish/Unpublish (true|false)', fallback: () => 'true' },
  { name: 'controller-expansion', env: 'HOSTPATH_CSI_CONTROLLER_EXPANSION', help: 'grow volumes in ControllerExpandVolume (false: NodeExpandVolume does it all; needs --mode all)', fallback: () => 'true' },
  { name: 'max-volumes-per-node', env: 'HOSTPATH_CSI_MAX_VOLUMES_PER_NODE', help: 'attach limit reported to Kubernetes (0: none)', fallback: () => '0' },
  { name: 'max-volume-size', env: 'HOSTPATH_CSI_MAX_VOLUME_SIZE', help: 'largest volume CreateVolume accepts (bytes or 10Gi; empty: no limit)', fallback: () => '' },
  { name: 'default-volume-size', env: 'HOSTPATH_CSI_DEFAULT_VOLUME_SIZE', help: 'capacity of a volume whose request names no size', fallback: () => '1Gi' },
  { name: 'mutable-parameters', env: 'HOSTPATH_CSI_MUTABLE_PARAMETERS', help: 'comma-separated keys ControllerModifyVolume accepts', fallback: () => '' },
  { name: 'csi-health-api', env: 'HOSTPATH_CSI_HEALTH_API', help: 'health capabilities to advertise: 1.12 (VolumeCondition) or 1.13 (volume/storage health RPCs)', fallback: () => '1.12' },
  { name: 'snapshot-metadata', env: 'HOSTPATH_CSI_SNAPSHOT_METADATA', help: 'serve the SnapshotMetadata service (changed-block tracking): off, fixed-length or variable-length tuples', fallback: () => 'off' },
  { name: 'log-level', env: 'HOSTPATH_CSI_LOG_LEVEL', help: 'trace, debug, info, warn, error', fallback: () => 'info' },
  { name: 'log-format', env: 'HOSTPATH_CSI_LOG_FORMAT', help: 'json or pretty', fallback: () => 'json' },
  { name: 'socket-mode', env: 'HOSTPATH_CSI_SOCKET_MODE', help: 'permissions of the socket file, octal (never world-writable)', fallback: () => '0660' },
  { name: 'metrics-address', env: 'HOSTPATH_CSI_METRICS_ADDRESS', help: 'host:port of the Prometheus metrics server, e.g. 127.0.0.1:9810 (empty: off)', fallback: () => '' },
  { name: 'volume-roots', env: 'HOSTPATH_CSI_VOLUME_ROOTS', help: 'key=/abs/path,... directories a StorageClass may put dir volumes in (parameter root=key)', fallback: () => '' },
  { name: 'allowed-path-root', env: 'HOSTPATH_CSI_ALLOWED_PATH_ROOT', help: 'target and staging paths must be under this directory (kubelet --root-dir)', fallback: () => '/var/lib/kubelet' },
];

const SNAPSHOT_METADATA = { off: 'off', 'fixed-length': 'FIXED_LENGTH', 'variable-length': 'VARIABLE_LENGTH' } as const;
const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const DRIVER_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$/;
const MAX_SOCKET_PATH = 107;

export function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function usage(): string {
  const lines = FLAGS.map((f) => `  --${f.name.padEnd(22)} ${f.help} [env ${f.env}; default ${JSON.stringify(f.fallback())}]`);
  return ['Usage: hostpath-csi [flags]', '       hostpath-csi inspect <command> ...   read-only look at the state directory (inspect --help)', '', ...lines, '  --version                print the version and exit', '  --help                   print this help and exit'].join('\n');
}

/** Parses argv (without node and script) and the environment into a command. Throws ConfigError. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommand {
  const options = Object.fromEntries(FLAGS.map((f) => [f.name, { type: 'string' as const }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const version = readPackageVersion();
  if (parsed.values.help) return { kind: 'help', text: usage() };
  if (parsed.values.version) return { kind: 'version', text: `hostpath-csi ${version}` };
  const raw = (name: string): string => {
    const spec = FLAGS.find((f) => f.name === name)!;
    const fromFlag = (parsed.values as Record<string, unknown>)[name];
    if (typeof fromFlag === 'string') return fromFlag;
    return env[spec.env] ?? spec.fallback();
  };
  return { kind: 'run', config: buildConfig(raw, version) };
}

function buildConfig(raw: (name: string) => string, version: string): Config {
  const endpoint = raw('endpoint');
  const maxVolumeSize = raw('max-volume-size') === '' ? null : parseSize('max-volume-size', raw('max-volume-size'));
  const defaultVolumeSize = parseSize('default-volume-size', raw('default-volume-size'));
  if (maxVolumeSize !== null && defaultVolumeSize > maxVolumeSize) {
    throw new ConfigError(`--default-volume-size ${defaultVolumeSize} is more than --max-volume-size ${maxVolumeSize}: every unsized volume would be refused`);
  }
  const mode = parseEnum('mode', raw('mode'), ['controller', 'node', 'all'] as const);
  const controllerExpansion = parseBool('controller-expansion', raw('controller-expansion'));
  if (!controllerExpansion && mode !== 'all') {
    // The node then writes the volume's record; only a process that also holds the controller's copy of it can.
    throw new ConfigError(`--controller-expansion=false needs --mode all (node-driven expansion updates the volume's controller record)`);
  }
  return Object.freeze({
    endpoint,
    socketPath: parseEndpoint(endpoint),
    nodeId: parseNodeId(raw('node-id')),
    driverName: parseDriverName(raw('driver-name')),
    stateDir: parseStateDir(raw('state-dir')),
    mode,
    enableAttach: parseBool('enable-attach', raw('enable-attach')),
    controllerExpansion,
    maxVolumesPerNode: parseCount('max-volumes-per-node', raw('max-volumes-per-node')),
    maxVolumeSize,
    defaultVolumeSize,
    mutableParameters: new Set(raw('mutable-parameters').split(',').map((s) => s.trim()).filter(Boolean)),
    logLevel: parseLogLevel(raw('log-level')),
    logFormat: parseEnum('log-format', raw('log-format'), ['json', 'pretty'] as const),
    socketMode: parseSocketMode(raw('socket-mode')),
    allowedPathRoot: parseAllowedPathRoot(raw('allowed-path-root')),
    volumeRoots: parseVolumeRoots(raw('volume-roots')),
    version,
    metricsAddress: parseListenAddress('metrics-address', raw('metrics-address')),
    csiHealthApi: parseEnum('csi-health-api', raw('csi-health-api'), ['1.12', '1.13'] as const),
    snapshotMetadata: SNAPSHOT_METADATA[parseEnum('snapshot-metadata', raw('snapshot-metadata'), ['off', 'fixed-length', 'variable-length'] as const)],
  });
}

/** host:port, :port or [v6]:port (port 0: any free one, for tests); an empty value switches the server off. */
function parseListenAddress(flag: string, text: string): ListenAddress | null {
  if (text === '') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  if (!m || port > 65535) throw new ConfigError(`--${flag} ${JSON.stringify(text)}: must be host:port, :port or [v6]:port`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function parseEndpoint(endpoint: string): string {
  // gRPC naming: unix://ABSOLUTE_PATH or unix:PATH. "unix://csi.sock" is a typo that must not become /csi.sock.
  const m = endpoint.startsWith('unix://') ? /^unix:\/\/(\/.+)$/.exec(endpoint) : (/^unix:(\/.+)$/.exec(endpoint) ?? /^(\/.+)$/.exec(endpoint));
  if (!m) throw new ConfigError(`--endpoint ${JSON.stringify(endpoint)}: must be unix:///absolute/path`);
  const p = path.normalize(m[1]!);
  if (Buffer.byteLength(p) > MAX_SOCKET_PATH) {
    throw new ConfigError(`--endpoint: socket path is longer than ${MAX_SOCKET_PATH} bytes, which unix sockets cannot bind`);
  }
  return p;
}

function parseNodeId(id: string): string {
  if (id === '' || Buffer.byteLength(id) > 256 || id.includes('\0')) {
    throw new ConfigError('--node-id: must be 1 to 256 bytes without NUL');
  }
  return id;
}

function parseDriverName(name: string): string {
  if (!DRIVER_NAME.test(name)) {
    throw new ConfigError(`--driver-name ${JSON.stringify(name)}: must be at most 63 characters of [a-zA-Z0-9._-], starting and ending alphanumeric`);
  }
  return name;
}

function parseStateDir(dir: string): string {
  if (dir === '' || dir.includes('\0')) throw new ConfigError('--state-dir: must be a path');
  return path.resolve(dir);
}

function parseAllowedPathRoot(dir: string): string {
  if (!path.isAbsolute(dir) || dir.includes('\0') || dir.split('/').includes('..')) {
    throw new ConfigError(`--allowed-path-root ${JSON.stringify(dir)}: must be an absolute path without '..'`);
  }
  return path.normalize(dir).replace(/(.)\/+$/, '$1');
}

const ROOT_KEY = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** `key=/abs/path,...`: keys are DNS labels (a class names one), paths absolute without `..`, each used once. */
function parseVolumeRoots(text: string): ReadonlyMap<string, string> {
  const roots = new Map<string, string>();
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq);
    const dir = item.slice(eq + 1);
    if (eq < 0 || !ROOT_KEY.test(key) || !path.isAbsolute(dir) || dir.includes('\0') || dir.split('/').includes('..') || path.normalize(dir) === '/') {
      throw new ConfigError(`--volume-roots ${JSON.stringify(item)}: must be key=/absolute/path (key: lower-case letters, digits, '-'; path not / and without '..')`);
    }
    if (roots.has(key)) throw new ConfigError(`--volume-roots: key ${key} is given twice`);
    roots.set(key, path.normalize(dir).replace(/\/+$/, ''));
  }
  return roots;
}

function parseEnum<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`--${flag} ${JSON.stringify(value)}: must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function parseBool(flag: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`--${flag} ${JSON.stringify(value)}: must be true or false`);
}

function parseCount(flag: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new ConfigError(`--${flag} ${JSON.stringify(value)}: must be a whole number`);
  return Number(value);
}

function parseSize(flag: string, value: string): bigint {
  const bytes = parseQuantity(value);
  if (bytes === null || bytes <= 0n || bytes > INT64_MAX) {
    throw new ConfigError(`--${flag} ${JSON.stringify(value)}: must be a positive size in bytes or a quantity like 10Gi`);
  }
  return bytes;
}

function parseLogLevel(level: string): string {
  if (!LOG_LEVELS.has(level)) throw new ConfigError(`--log-level ${JSON.stringify(level)}: must be one of ${[...LOG_LEVELS].join(', ')}`);
  return level;
}

function parseSocketMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new ConfigError(`--socket-mode ${JSON.stringify(text)}: must be octal like 0660`);
  const mode = parseInt(text, 8);
  if (mode & 0o002) throw new ConfigError(`--socket-mode ${text}: a world-writable socket lets any local user drive the storage driver`);
  return mode;
}

import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseCommand, readPackageVersion, type Config } from '../../src/config';

function configOf(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = parseCommand(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected a run command, got ${parsed.kind}`);
  return parsed.config;
}

/** The ConfigError a bad command throws (fails the test if it does not throw one). */
function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseCommand(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ConfigError for ${JSON.stringify(argv)}`);
}

describe('parseCommand: defaults and precedence', () => {
  it('fills every default', () => {
    const config = configOf([]);
    expect(config).toMatchObject({
      endpoint: 'unix:///run/hostpath-csi/csi.sock',
      socketPath: '/run/hostpath-csi/csi.sock',
      nodeId: hostname(),
      driverName: 'hostpath.csi.dev',
      stateDir: '/var/lib/hostpath-csi',
      mode: 'all',
      enableAttach: true,
      maxVolumesPerNode: 0,
      maxVolumeSize: null,
      defaultVolumeSize: 1024n ** 3n,
      logLevel: 'info',
      logFormat: 'json',
      socketMode: 0o660,
      allowedPathRoot: '/var/lib/kubelet',
      version: readPackageVersion(),
    });
    expect([...config.mutableParameters]).toEqual([]);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(configOf([]))).toBe(true);
  });

  it('lets environment variables override defaults', () => {
    const config = configOf([], {
      HOSTPATH_CSI_NODE_ID: 'node-env',
      HOSTPATH_CSI_MODE: 'controller',
      HOSTPATH_CSI_ENABLE_ATTACH: 'false',
      HOSTPATH_CSI_MAX_VOLUME_SIZE: '10Gi',
      HOSTPATH_CSI_MUTABLE_PARAMETERS: 'iops, tier ,',
      CSI_ENDPOINT: 'unix:///tmp/env.sock',
    });
    expect(config).toMatchObject({ nodeId: 'node-env', mode: 'controller', enableAttach: false, maxVolumeSize: 10n * 1024n ** 3n, socketPath: '/tmp/env.sock' });
    expect([...config.mutableParameters]).toEqual(['iops', 'tier']);
  });

  it('lets flags override environment variables', () => {
    const config = configOf(['--node-id', 'node-flag', '--mode', 'node'], { HOSTPATH_CSI_NODE_ID: 'node-env', HOSTPATH_CSI_MODE: 'controller' });
    expect(config).toMatchObject({ nodeId: 'node-flag', mode: 'node' });
  });

  it('accepts --flag=value and relative state dirs (made absolute)', () => {
    const config = configOf(['--state-dir=state', '--max-volumes-per-node=12']);
    expect(config.stateDir).toBe(`${process.cwd()}/state`);
    expect(config.maxVolumesPerNode).toBe(12);
  });

  it('accepts the three endpoint spellings', () => {
    expect(configOf(['--endpoint', 'unix:///tmp/a.sock']).socketPath).toBe('/tmp/a.sock');
    expect(configOf(['--endpoint', 'unix:/tmp/b.sock']).socketPath).toBe('/tmp/b.sock');
    expect(configOf(['--endpoint', '/tmp/c.sock']).socketPath).toBe('/tmp/c.sock');
  });

  it('accepts a socket path of exactly 107 bytes', () => {
    const p = `/${'s'.repeat(106)}`;
    expect(configOf(['--endpoint', `unix://${p}`]).socketPath).toBe(p);
  });
});

describe('parseCommand: --help and --version', () => {
  it('answers help text naming every flag', () => {
    const parsed = parseCommand(['--help'], {});
    expect(parsed.kind).toBe('help');
    if (parsed.kind === 'help') expect(parsed.text).toMatch(/--endpoint[\s\S]*--socket-mode[\s\S]*--version/);
  });

  it('answers the package version', () => {
    expect(parseCommand(['--version'], {})).toEqual({ kind: 'version', text: `hostpath-csi ${readPackageVersion()}` });
  });

  it('answers help even when other values are bad', () => {
    expect(parseCommand(['--help', '--mode', 'bogus'], {}).kind).toBe('help');
  });
});

describe('parseCommand: bad values throw a one-line ConfigError', () => {
  it.each([
    ['a bad mode', ['--mode', 'both'], /--mode "both"/],
    ['a bad bool', ['--enable-attach', 'yes'], /--enable-attach "yes"/],
    ['a world-writable socket mode', ['--socket-mode', '0666'], /world-writable/],
    ['a world-writable socket mode without the leading 0', ['--socket-mode', '777'], /world-writable/],
    ['a non-octal socket mode', ['--socket-mode', '0689'], /--socket-mode/],
    ['a relative allowed path root', ['--allowed-path-root', 'var/lib/kubelet'], /--allowed-path-root/],
    ["an allowed path root with '..'", ['--allowed-path-root', '/var/lib/../kubelet'], /--allowed-path-root/],
    ['a relative endpoint', ['--endpoint', 'csi.sock'], /--endpoint/],
    ['a relative unix: endpoint', ['--endpoint', 'unix:csi.sock'], /--endpoint/],
    ['a non-unix endpoint', ['--endpoint', 'tcp://127.0.0.1:10000'], /--endpoint/],
    ['an over-long socket path', ['--endpoint', `unix:///${'s'.repeat(120)}`], /longer than 107 bytes/],
    ['a driver name with a leading dash', ['--driver-name', '-hostpath'], /--driver-name/],
    ['a driver name over 63 characters', ['--driver-name', `a${'b'.repeat(63)}`], /--driver-name/],
    ['a driver name with a slash', ['--driver-name', 'hostpath/csi'], /--driver-name/],
    ['a bad size', ['--default-volume-size', 'lots'], /--default-volume-size "lots"/],
    ['a zero size', ['--default-volume-size', '0'], /--default-volume-size/],
    ['a size beyond int64', ['--max-volume-size', '9Ei'], /--max-volume-size/],
    ['a bad count', ['--max-volumes-per-node', '-1'], /--max-volumes-per-node/],
    ['a bad log level', ['--log-level', 'verbose'], /--log-level/],
    ['a bad log format', ['--log-format', 'xml'], /--log-format/],
    ['an empty node ID', ['--node-id', ''], /--node-id/],
    ['an unknown flag', ['--no-such-flag', 'x'], /no-such-flag/],
    ['a positional argument', ['serve'], /serve/],
  ])('%s', (_what, argv, message) => {
    const err = configError(argv);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });

  it('reports a bad environment value too', () => {
    expect(configError([], { HOSTPATH_CSI_ENABLE_ATTACH: 'maybe' }).message).toMatch(/--enable-attach "maybe"/);
  });

  it('rejects unix://name (two slashes, relative) instead of binding /name at the filesystem root', () => {
    // gRPC naming: "unix://absolute_path" needs three slashes; "unix://csi.sock" is not a path under /.
    expect(configError(['--endpoint', 'unix://csi.sock']).message).toMatch(/--endpoint/);
  });
});

describe('parseCommand: --controller-expansion', () => {
  it('is on by default and can be switched off for a process serving every service', () => {
    expect(configOf([]).controllerExpansion).toBe(true);
    expect(configOf(['--controller-expansion=false']).controllerExpansion).toBe(false);
    expect(configOf([], { HOSTPATH_CSI_CONTROLLER_EXPANSION: 'false' }).controllerExpansion).toBe(false);
  });

  it('refuses false outside --mode all: the node would write a record another process holds', () => {
    expect(configError(['--controller-expansion=false', '--mode', 'node']).message).toMatch(/needs --mode all/);
  });
});

describe('parseCommand: --metrics-address', () => {
  it('is off by default', () => {
    expect(configOf([]).metricsAddress).toBeNull();
  });

  it('accepts host:port, :port, [v6]:port and the environment variable', () => {
    expect(configOf(['--metrics-address=127.0.0.1:9810']).metricsAddress).toEqual({ host: '127.0.0.1', port: 9810 });
    expect(configOf(['--metrics-address=:9810']).metricsAddress).toEqual({ host: '', port: 9810 });
    expect(configOf(['--metrics-address=[::1]:9810']).metricsAddress).toEqual({ host: '::1', port: 9810 });
    expect(configOf([], { HOSTPATH_CSI_METRICS_ADDRESS: 'localhost:1' }).metricsAddress).toEqual({ host: 'localhost', port: 1 });
  });

  it.each(['9810', '127.0.0.1', '127.0.0.1:65536', 'http://127.0.0.1:9810', '[::1]9810'])('refuses %s', (value) => {
    expect(configError([`--metrics-address=${value}`]).message).toBe(`--metrics-address ${JSON.stringify(value)}: must be host:port, :port or [v6]:port`);
  });
});

describe('parseCommand: --volume-roots', () => {
  it('is empty by default', () => {
    expect([...configOf([]).volumeRoots]).toEqual([]);
  });

  it('maps each key to its normalised absolute path', () => {
    const config = configOf(['--volume-roots', 'disk2=/mnt/disk2/, ssd=/srv//ssd'], {});
    expect([...config.volumeRoots]).toEqual([['disk2', '/mnt/disk2'], ['ssd', '/srv/ssd']]);
  });

  it.each(['disk2', 'Disk=/mnt/x', 'a=relative', 'a=/mnt/../etc', 'a=/', '=/mnt/x'])('refuses %j', (value) => {
    expect(configError(['--volume-roots', value]).message).toContain('must be key=/absolute/path');
  });

  it('refuses a key given twice', () => {
    expect(configError(['--volume-roots', 'a=/mnt/a,a=/mnt/b']).message).toBe('--volume-roots: key a is given twice');
  });
});

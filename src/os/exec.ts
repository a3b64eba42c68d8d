import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** A child process failed. `exitStatus` is deliberately not named `code`: grpc-js would send that as a status. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitStatus: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitStatus === null ? '' : ` with exit status ${exitStatus}`}: ${stderr.trim().slice(0, 500)}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type CommandRunner = (file: string, args: readonly string[], options?: RunOptions) => Promise<string>;

/**
 * util-linux setpriv(1), which sets PR_SET_PDEATHSIG before it execs the program: the kernel then SIGKILLs the
 * child when the driver dies, however it dies. Without it a cp, mkfs, e2fsck or resize2fs outlived a SIGKILLed
 * driver and went on writing into state the next driver was already cleaning up (or checking the same filesystem
 * twice at once). Node cannot set the signal itself: libuv forks and execs with no hook in between.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** The argv that runs `file args` so that it dies with the driver (as is, where setpriv is missing). */
export function diesWithDriver(file: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, [...args]];
}

/**
 * A runner whose children also get `env` (the driver's mark, src/os/leftover-children.ts). Runs a program with an
 * argv array (never a shell), a timeout and an optional AbortSignal; resolves to stdout.
 */
export function commandRunner(env: Readonly<Record<string, string>> = {}): CommandRunner {
  return (file, args, options = {}) =>
    new Promise((resolve, reject) => {
      const [program, argv] = diesWithDriver(file, args);
      execFile(
        program,
        argv,
        { timeout: options.timeoutMs ?? 60_000, signal: options.signal, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env, LC_ALL: 'C' } },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const status = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError([file, ...args].join(' '), status, stderr || err.message));
        },
      );
    });
}

/** A runner without the driver's mark (tests, tools). */
export const runCommand: CommandRunner = commandRunner();

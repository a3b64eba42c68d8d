import { execFile } from 'node:child_process';

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

/** Runs a program with an argv array (never a shell), a timeout and an optional AbortSignal; resolves to stdout. */
export const runCommand: CommandRunner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs ?? 60_000, signal: options.signal, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const status = typeof err.code === 'number' ? err.code : null;
        reject(new CommandError([file, ...args].join(' '), status, stderr || err.message));
      },
    );
  });

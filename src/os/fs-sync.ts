import { runCommand, type CommandRunner } from './exec';

/** Flushes everything written to the filesystem that holds `path` (syncfs(2)); faked in unit tests. */
export type FileSystemSync = (path: string) => Promise<void>;

/** GNU coreutils `sync --file-system`: Node has no syncfs binding; one child process per call is cheap at checkpoint rates. */
export function commandFileSystemSync(run: CommandRunner = runCommand): FileSystemSync {
  return async (path) => {
    await run('sync', ['--file-system', '--', path], { timeoutMs: 10 * 60_000 });
  };
}

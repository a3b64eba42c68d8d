#!/usr/bin/env node
import { runInspect } from './inspect';

/**
 * Runs `inspect` and lets Node exit by itself once stdout is drained (a forced exit could cut a long answer written
 * to a pipe). Entry of `hostpath-csi inspect ...` (src/main.ts dispatches here, so the bundled image has it too).
 */
export function inspectMain(argv: readonly string[]): void {
  runInspect(argv, process.env, (t) => process.stdout.write(t), (t) => process.stderr.write(t)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`hostpath-csi inspect: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) inspectMain(process.argv.slice(2));

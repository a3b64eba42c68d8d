#!/usr/bin/env node
import { App } from './app';
import { inspectMain } from './cli/bin';
import { ConfigError, parseCommand } from './config';
import { createRootLogger, cycleLevelOnSignal } from './log';
import { StateDirLockedError } from './os/state-lock';

async function main(): Promise<number> {
  let command;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hostpath-csi: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind !== 'run') {
    process.stdout.write(`${command.text}\n`);
    return 0;
  }
  const log = createRootLogger(command.config.logLevel, command.config.logFormat);
  cycleLevelOnSignal(log, command.config.logLevel);
  const app = new App(command.config, log);
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    await app.start();
  } catch (err) {
    if (err instanceof StateDirLockedError) {
      // Like a bad flag: nothing was started, so nothing to stop; one line and status 2.
      process.stderr.write(`hostpath-csi: ${err.message}\n`);
      return 2;
    }
    log.fatal({ err }, 'start-up failed');
    await app.stop(1_000).catch(() => undefined);
    log.flush();
    return 1;
  }
  const code = await stopped;
  log.flush();
  return code;
}

// `hostpath-csi inspect ...` reads state and exits by itself; everything else runs the driver.
if (process.argv[2] === 'inspect') {
  inspectMain(process.argv.slice(3));
} else {
  main().then(
    (code) => {
      process.exitCode = code;
      // Let pino's async destination drain, then exit even if a stray handle lingers.
      setTimeout(() => process.exit(code), 100).unref();
    },
    (err: unknown) => {
      process.stderr.write(`hostpath-csi: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

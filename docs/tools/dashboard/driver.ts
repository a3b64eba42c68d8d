import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { imageNodeOptions, probeReady, RunningDriver } from '../../../bench/drivers';
import { NODE_ID } from './load';

/**
 * The built driver as the image runs it (its NODE_OPTIONS), every service in one process, with the metrics server on
 * 127.0.0.1 and a port the kernel picks; the port is read from the driver's own "metrics server listening" log line.
 */
export async function startMeteredDriver(bin: string, workDir: string, stateDir: string): Promise<{ driver: RunningDriver; metricsPort: number }> {
  await mkdir(stateDir, { recursive: true });
  const socket = path.join(workDir, 'csi.sock');
  const args = [bin, `--endpoint=unix://${socket}`, `--state-dir=${stateDir}`, `--node-id=${NODE_ID}`, `--allowed-path-root=${path.join(workDir, 'kubelet')}`, '--metrics-address=127.0.0.1:0'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: imageNodeOptions() } });
  const driver = new RunningDriver({ label: 'ours', kind: 'ours', bin }, proc, socket, stateDir);
  const log = createWriteStream(path.join(workDir, 'driver.log'));
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      log.write(`${line}\n`);
      const m = /"port":(\d+).*"msg":"metrics server listening"/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`the driver exited (code ${code}) before its metrics server listened`)));
  });
  const timeout = setTimeout(() => proc.kill('SIGTERM'), 60_000);
  try {
    const metricsPort = await port;
    while (!(await probeReady(driver))) {
      if (driver.exited !== null) throw new Error(`the driver exited: ${driver.exited}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { driver, metricsPort };
  } catch (err) {
    await driver.stop();
    throw err;
  } finally {
    clearTimeout(timeout);
  }
}

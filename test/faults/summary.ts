import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** FAULTS_RESULTS_DIR moves it: the test VM's quota rounds must not overwrite the host run's figures. */
export const RUN_DIR = process.env['FAULTS_RESULTS_DIR'] ? path.resolve(process.env['FAULTS_RESULTS_DIR']) : path.resolve(__dirname, '..', '..', '.run', 'faults');

/** Writes one part's figures (.run/faults/<part>.json); scripts/render-reliability.js turns them into tables. */
export async function writeSummary(part: string, figures: Record<string, unknown>): Promise<void> {
  await mkdir(RUN_DIR, { recursive: true });
  await writeFile(path.join(RUN_DIR, `${part}.json`), `${JSON.stringify({ part, finishedAt: new Date().toISOString(), ...figures }, null, 2)}\n`);
}

/** Appends a driver's log to .run/faults/<part>-driver.log, kept for a post-mortem of a failed run. */
export async function keepLog(part: string, text: string): Promise<string> {
  await mkdir(RUN_DIR, { recursive: true });
  const file = path.join(RUN_DIR, `${part}-driver.log`);
  await writeFile(file, text, { flag: 'a' });
  return file;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

import { readFile } from 'node:fs/promises';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** The names of the failed specs, for the failure message. */
  failures: string[];
}

/** ginkgo's message for a spec its --focus/--skip left out (the suite's own skips add " - <reason>"). */
const NOT_SELECTED = '<skipped message="skipped">';

/**
 * Counts the specs of one driver in a ginkgo JUnit report. e2e.test holds every storage driver's specs (and ginkgo
 * lists the ones --focus/--skip left out as skipped with no reason): only `[It] <prefix>` cases that were selected
 * count. A selected spec the suite skipped itself (a capability not claimed, a second node missing) is skipped.
 */
export async function countJunit(file: string, prefix: string): Promise<Counts> {
  const xml = await readFile(file, 'utf8');
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const m of xml.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = m[1] ?? '';
    const body = m[2] ?? '';
    if (!name.startsWith(`[It] ${prefix}`) || body.includes(NOT_SELECTED)) continue;
    if (/<failure\b|<error\b/.test(body)) {
      counts.failed++;
      counts.failures.push(name);
    } else if (/<skipped\b/.test(body)) {
      counts.skipped++;
    } else {
      counts.passed++;
    }
  }
  return counts;
}

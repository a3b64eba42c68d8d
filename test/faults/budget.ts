/**
 * How much the fault harness does, and with which seeds. CI runs the default budget; `FAULTS_SOAK=1` (or
 * test/faults/run.sh --soak) runs ten times as much. Every seed is printed, so a failure replays exactly with
 * `FAULTS_SEED=<seed> bash test/faults/run.sh`.
 */
export interface Budget {
  seed: number;
  soak: boolean;
  /** Kill/restart rounds of the crash harness. */
  crashRounds: number;
  /** A simulated reboot every this many rounds (and once more at the end). */
  rebootEvery: number;
  /** Requests the fuzzer sends, over every RPC. */
  fuzzCases: number;
  /** Times each concurrency storm is repeated. */
  stormRepeats: number;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name}=${JSON.stringify(raw)}: expected a whole number`);
  return Number(raw);
}

export const DEFAULT_SEED = 20_251_108;

export function budget(): Budget {
  const soak = process.env['FAULTS_SOAK'] === '1';
  const scale = soak ? 10 : 1;
  return {
    seed: intFromEnv('FAULTS_SEED', DEFAULT_SEED),
    soak,
    crashRounds: intFromEnv('FAULTS_ROUNDS', 200 * scale),
    rebootEvery: intFromEnv('FAULTS_REBOOT_EVERY', 20),
    fuzzCases: intFromEnv('FAULTS_FUZZ_CASES', 20_000 * scale),
    stormRepeats: intFromEnv('FAULTS_STORM_REPEATS', 3 * scale),
  };
}

/** One line per part, so that a CI log says how to replay it. */
export function announce(part: string, b: Budget, detail: string): void {
  process.stdout.write(`faults/${part}: seed=${b.seed} ${detail}${b.soak ? ' (soak)' : ''} — replay: FAULTS_SEED=${b.seed} bash test/faults/run.sh ${part}\n`);
}

import type { KindHealthChecks } from '../../volumes/health-checks';
import { directoryPath, directoryPresent, stagingMount } from '../health-checks';

/** A directory volume is healthy while its directory is there and, once staged, bind-mounted at its staging path. */
export const dirHealth: KindHealthChecks = { dataPath: directoryPath, storage: directoryPresent, staged: stagingMount };

import type { KindHealthChecks } from '../../volumes/health-checks';
import { imageIntact, imagePath, loopAttached } from '../health-checks';

/** A raw block volume is staged as a loop device only (no mount): the device file its targets bind is the loop. */
export const blockHealth: KindHealthChecks = { dataPath: imagePath, storage: imageIntact, staged: loopAttached };

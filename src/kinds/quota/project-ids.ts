/**
 * Project IDs for quota volumes. The driver takes IDs from PROJECT_ID_BASE upward on the state directory's
 * filesystem and assumes nothing else on that filesystem uses them. IDs are handed out synchronously (no await
 * between choosing and taking one), so concurrent creates never share one; the volume record keeps its ID, and
 * `adopt` takes back the IDs of records loaded at start-up.
 */
import { ResourceExhaustedError } from '../../errors';

export const PROJECT_ID_BASE = 1_000_000;
const PROJECT_ID_MAX = 0xffffffff;

export class ProjectIdAllocator {
  private readonly taken = new Set<number>();
  private next: number;

  /** `base`..`max` is the range handed out; tests narrow it to reach exhaustion. */
  constructor(
    private readonly base = PROJECT_ID_BASE,
    private readonly max = PROJECT_ID_MAX,
  ) {
    this.next = base;
  }

  adopt(ids: Iterable<number | null | undefined>): void {
    for (const id of ids) if (typeof id === 'number') this.taken.add(id);
  }

  /** The next free ID after the last one handed out (wrapping once), so a just-released ID is not reused at once. */
  take(): number {
    for (let tried = 0; tried <= this.max - this.base; tried++) {
      const id = this.next;
      this.next = id >= this.max ? this.base : id + 1;
      if (!this.taken.has(id)) {
        this.taken.add(id);
        return id;
      }
    }
    // CSI spec, CreateVolume: RESOURCE_EXHAUSTED when the plugin cannot provision for lack of a resource.
    throw new ResourceExhaustedError(`every project ID from ${this.base} to ${this.max} is in use by a quota volume: delete one first`);
  }

  release(id: number | null | undefined): void {
    if (typeof id === 'number') this.taken.delete(id);
  }

  has(id: number): boolean {
    return this.taken.has(id);
  }
}

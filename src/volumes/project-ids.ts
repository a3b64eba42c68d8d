/**
 * Project IDs for quota volumes. The driver takes IDs from PROJECT_ID_BASE upward on the state directory's
 * filesystem and assumes nothing else on that filesystem uses them. IDs are handed out synchronously (no await
 * between choosing and taking one), so concurrent creates never share one; the volume record keeps its ID, and
 * `adopt` takes back the IDs of records loaded at start-up.
 */
export const PROJECT_ID_BASE = 1_000_000;
const PROJECT_ID_MAX = 0xffffffff;

export class ProjectIdAllocator {
  private readonly taken = new Set<number>();
  private next = PROJECT_ID_BASE;

  adopt(ids: Iterable<number | null | undefined>): void {
    for (const id of ids) if (typeof id === 'number') this.taken.add(id);
  }

  /** The next free ID after the last one handed out (wrapping once), so a just-released ID is not reused at once. */
  take(): number {
    for (let tried = 0; tried <= PROJECT_ID_MAX - PROJECT_ID_BASE; tried++) {
      const id = this.next;
      this.next = id >= PROJECT_ID_MAX ? PROJECT_ID_BASE : id + 1;
      if (!this.taken.has(id)) {
        this.taken.add(id);
        return id;
      }
    }
    throw new Error('every project ID is in use');
  }

  release(id: number | null | undefined): void {
    if (typeof id === 'number') this.taken.delete(id);
  }

  has(id: number): boolean {
    return this.taken.has(id);
  }
}

import { describe, expect, it } from 'vitest';
import { forEachBounded } from '../../../src/state/bounded';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('forEachBounded', () => {
  it('runs every item once with never more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachBounded(
      Array.from({ length: 50 }, (_, i) => i),
      async (i) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await tick();
        seen.push(i);
        inFlight--;
      },
      { limit: 4 },
    );
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(most).toBe(4);
  });

  it('starts nothing after the first failure, lets the ones in flight finish, and throws that first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = forEachBounded(
      Array.from({ length: 20 }, (_, i) => i),
      async (i) => {
        started.push(i);
        if (i === 0) {
          await tick();
          throw new Error('item 0 failed');
        }
        await new Promise((r) => setTimeout(r, 20));
        if (i === 1) throw new Error('item 1 failed');
        finished.push(i);
      },
      { limit: 3 },
    );
    await expect(run).rejects.toThrow('item 0 failed');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([2]);
  });

  it('lets timers and I/O run while the work never waits itself (Probe answers during start-up)', async () => {
    let timerRan = false;
    setImmediate(() => {
      timerRan = true;
    });
    let sawTimer = false;
    await forEachBounded(
      Array.from({ length: 500 }, (_, i) => i),
      async (i) => {
        if (i === 499) sawTimer = timerRan;
      },
      { limit: 8 },
    );
    expect(sawTimer).toBe(true);
  });

  it('does nothing for no items', async () => {
    await expect(forEachBounded([], async () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });
});

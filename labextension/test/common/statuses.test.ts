import { describe, expect, it } from 'vitest';
import { FINAL, FINAL_STATUSES, isFinal, STAGES, STATUSES } from '../../src/common/statuses';

describe('statuses', () => {
  it('lists the lifecycle in order, the stages before the final statuses', () => {
    expect(STAGES).toEqual(['Queued', 'Preparing', 'Running', 'Finalizing']);
    expect([...STAGES, ...FINAL]).toEqual([...STATUSES]);
  });

  it('knows which statuses are final', () => {
    expect([...FINAL_STATUSES]).toEqual(['Completed', 'Failed', 'Canceled', 'Pruned', 'Lost']);
    expect(isFinal('Pruned')).toBe(true); // a sweep's trial its pruner stopped
    expect(isFinal('Lost')).toBe(true);
    expect(isFinal('Running')).toBe(false);
    expect(isFinal(undefined)).toBe(false);
    expect(isFinal('Something new')).toBe(false);
  });
});

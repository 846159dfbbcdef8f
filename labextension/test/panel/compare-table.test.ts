import { describe, expect, it } from 'vitest';
import { seriesColor } from '../../src/common/palette';
import { IRunRecord } from '../../src/panel/api';
import { compareTable, overlayRuns, runColors, sortRows } from '../../src/panel/metrics';

function run(id: string, status: string, loss: number | null): IRunRecord {
  return {
    id,
    experiment: 'exp',
    name: `run-${id}`,
    status,
    created: 1000,
    target: 'local',
    mode: 'none',
    ranks: 1,
    stages: { Queued: 1000 },
    exit_codes: [0],
    root_cause: null,
    metrics: loss === null ? {} : { loss: { last: loss, min: loss, max: loss, count: 1 } },
    params: {},
    ended: 1010,
    duration: 10
  };
}

describe('run colours of the compare view', () => {
  it("gives each run the colour of its place among the view's runs, whatever the sort", () => {
    const colors = runColors(['c', 'a', 'b', 'a']);
    expect([...colors]).toEqual([
      ['c', 0],
      ['a', 1],
      ['b', 2]
    ]);
    const t = compareTable([
      run('c', 'Completed', 3),
      run('a', 'Completed', 1),
      run('b', 'Completed', 2)
    ]);
    const sorted = sortRows(t.rows, { kind: 'metric', name: 'loss' });
    expect(sorted.map(r => [r.id, seriesColor(colors.get(r.id)!)])).toEqual([
      ['a', seriesColor(1)],
      ['b', seriesColor(2)],
      ['c', seriesColor(0)]
    ]);
  });

  it('keeps the colours of the runs shown when others are hidden from the overlay', () => {
    expect(overlayRuns(['c', 'a', 'b'], new Set(['a']))).toEqual([
      { id: 'c', color: 0 },
      { id: 'b', color: 2 }
    ]);
    expect(overlayRuns(['c', 'a'], new Set(['a', 'c']))).toEqual([]);
  });
});

describe('the best run of the compare table', () => {
  it('is never a Failed, Canceled or live run, even with the best value', () => {
    const runs = [
      run('failed', 'Failed', 0.001),
      run('canceled', 'Canceled', 0.002),
      run('live', 'Running', 0.003),
      run('ok1', 'Completed', 0.5),
      run('ok2', 'Completed', 0.4)
    ];
    expect(compareTable(runs).best.get('loss')).toBe('ok2');
    expect(compareTable(runs.slice(0, 4)).best.has('loss')).toBe(false); // one Completed: nothing to beat
    expect(compareTable(runs.slice(0, 3)).best.size).toBe(0);
  });
});

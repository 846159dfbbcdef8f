// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { IRunRecord, MLTrainAPI } from '../../src/panel/api';
import { SweepRows } from '../../src/panel/sweeprows';

function run(id: string, name: string, extra: Partial<IRunRecord> = {}): IRunRecord {
  return {
    id,
    experiment: 'exp',
    name,
    status: 'Running',
    created: 1000,
    target: 'local',
    mode: 'none',
    ranks: 1,
    stages: { Queued: 1000 },
    exit_codes: [],
    root_cause: null,
    metrics: {},
    params: {},
    ended: null,
    duration: null,
    ...extra
  };
}

describe('sweep rows from the runs alone (the live list has no sweep field)', () => {
  it('nests trials under the driver they name as parent, newest first as listed, by trial number', () => {
    const rows = new SweepRows(
      {} as MLTrainAPI,
      () => undefined,
      () => undefined
    );
    const runs = [
      run('t1', 'lr-t1', { parent: 'd' }),
      run('x', 'plain'),
      run('t0', 'lr-t0', { parent: 'd' }),
      run('d', 'sweep lr', { params: { sweep: 'sweep-1' } }),
      run('o', 'other-t3', { parent: 'not-a-driver' })
    ];
    const collapsed = rows.arrange(runs);
    expect(collapsed.map(p => [p.run.id, p.depth])).toEqual([
      ['x', 0],
      ['d', 0],
      ['o', 0]
    ]);
    expect(collapsed.find(p => p.run.id === 'd')?.trials).toBe(2);
    expect(rows.markOf(runs[0])).toEqual({ id: 'sweep-1', role: 'trial', trial: 1 });
    expect(rows.markOf(runs[4])).toBeNull();
  });
});

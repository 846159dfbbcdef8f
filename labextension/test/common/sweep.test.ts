import { describe, expect, it } from 'vitest';
import {
  axisTicks,
  bestSoFar,
  bestTrial,
  ITrial,
  overlay,
  paramAxis,
  scaleAxis,
  sortTrials,
  toSweep,
  valueAxis
} from '../../src/common/sweep/model';
import { nestSweeps, ISweepMark } from '../../src/common/sweep/nest';

function trial(
  n: number,
  status: string,
  value: number | null,
  params: Record<string, unknown> = {}
): ITrial {
  return {
    trial: n,
    run: `run-${n}`,
    params,
    status,
    value,
    step: value === null ? null : 9,
    duration: n + 1
  };
}

const TRIALS = [
  trial(0, 'Completed', 0.5, { lr: 0.01, opt: 'sgd' }),
  trial(1, 'Pruned', 0.1, { lr: 0.1, opt: 'adam' }),
  trial(2, 'Completed', 0.3, { lr: 0.001, opt: 'adam' }),
  trial(3, 'Failed', 0.05, { lr: 0.0001, opt: 'sgd' }),
  trial(4, 'Running', null, { lr: 0.05, opt: 'sgd' })
];

describe('the best trial', () => {
  it('is the best completed one: a pruned or failed trial with a better value is never best', () => {
    expect(bestTrial(TRIALS, 'min')?.trial).toBe(2);
    expect(bestTrial(TRIALS, 'max')?.trial).toBe(0);
    expect(bestTrial([trial(0, 'Pruned', 1), trial(1, 'Failed', 2)], 'min')).toBeNull();
  });

  it('so far, by trial number, counts completed trials only', () => {
    const b = bestSoFar([TRIALS[2], TRIALS[0], TRIALS[1], TRIALS[3], TRIALS[4]], 'min');
    expect(b.x).toEqual([0, 1, 2, 3, 4]);
    expect(b.value).toEqual([0.5, null, 0.3, null, null]);
    expect(b.best).toEqual([0.5, 0.5, 0.3, 0.3, 0.3]);
    expect(bestSoFar(TRIALS, 'max').best).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
  });
});

describe('sorting trials', () => {
  it('sorts by the metric both ways, trials without a value last either way', () => {
    expect(sortTrials(TRIALS, 'value', 1).map(t => t.trial)).toEqual([3, 1, 2, 0, 4]);
    expect(sortTrials(TRIALS, 'value', -1).map(t => t.trial)).toEqual([0, 2, 1, 3, 4]);
  });

  it('sorts by a param (numbers by value, text alphabetically, ties by trial number) and by status', () => {
    expect(sortTrials(TRIALS, 'param:lr', 1).map(t => t.trial)).toEqual([3, 2, 0, 4, 1]);
    expect(sortTrials(TRIALS, 'param:opt', 1).map(t => t.trial)).toEqual([1, 2, 0, 3, 4]);
    expect(sortTrials(TRIALS, 'param:opt', -1).map(t => t.trial)).toEqual([0, 3, 4, 1, 2]);
    expect(sortTrials(TRIALS, 'status', 1).map(t => t.status)).toEqual([
      'Completed',
      'Completed',
      'Failed',
      'Pruned',
      'Running'
    ]);
  });

  it('leaves the given list as it was', () => {
    const copy = [...TRIALS];
    sortTrials(TRIALS, 'value', -1);
    expect(TRIALS).toEqual(copy);
  });
});

describe('parallel-coordinates axes', () => {
  it('puts a loguniform param on a log axis over the space, powers of ten as ticks', () => {
    const a = paramAxis('lr', { kind: 'loguniform', args: [1e-4, 1e-1] }, [0.001, 0.01]);
    expect(a.kind).toBe('log');
    expect([a.min, a.max]).toEqual([1e-4, 1e-1]);
    expect(scaleAxis(a, 1e-4)).toBeCloseTo(0);
    expect(scaleAxis(a, 1e-3)).toBeCloseTo(1 / 3);
    expect(scaleAxis(a, 1e-2)).toBeCloseTo(2 / 3);
    expect(scaleAxis(a, 1e-1)).toBeCloseTo(1);
    expect(scaleAxis(a, 0)).toBeNull();
    expect(axisTicks(a)).toEqual([1e-4, 1e-3, 1e-2, 1e-1]);
  });

  it('puts a choice on an ordinal axis in the order of the space, evenly spaced', () => {
    const a = paramAxis('batch', { kind: 'choice', args: [32, 64, 128] }, [64, 128]);
    expect(a.kind).toBe('category');
    expect(a.categories).toEqual(['32', '64', '128']);
    expect([32, 64, 128, 256].map(v => scaleAxis(a, v))).toEqual([0, 0.5, 1, null]);
    const one = paramAxis('opt', { kind: 'choice', args: ['adam'] }, ['adam']);
    expect(scaleAxis(one, 'adam')).toBe(0.5);
  });

  it('scales uniform and int params linearly over the space, widened to values outside it', () => {
    const a = paramAxis('layers', { kind: 'int', args: [1, 4] }, [2, 3]);
    expect(a.kind).toBe('linear');
    expect([1, 2.5, 4].map(v => scaleAxis(a, v))).toEqual([0, 0.5, 1]);
    expect(paramAxis('x', { kind: 'uniform', args: [0, 1] }, [2]).max).toBe(2);
  });

  it('without a space, text values make an ordinal axis and numbers a linear one; the metric is linear', () => {
    expect(paramAxis('opt', undefined, ['sgd', 'adam', 'sgd']).categories).toEqual(['sgd', 'adam']);
    expect(paramAxis('x', undefined, [3, 1, 2]).kind).toBe('linear');
    const m = valueAxis('loss', [0.5, null, 0.3, 0.1]);
    expect([m.kind, m.min, m.max]).toEqual(['linear', 0.1, 0.5]);
    expect(scaleAxis(m, null)).toBeNull();
    expect(scaleAxis(valueAxis('loss', [2, 2]), 2)).toBe(0.5);
  });
});

describe('a sweep record', () => {
  it('reads what the server and the widget send, and nothing from an empty trait', () => {
    expect(toSweep({})).toBeNull();
    expect(toSweep(null)).toBeNull();
    const s = toSweep({
      id: 'sweep-1',
      status: 'Running',
      metric: 'loss',
      goal: 'max',
      budget: 4,
      trials: [
        {
          trial: 0,
          run: 'r0',
          params: { a: 1 },
          status: 'Completed',
          value: 2,
          step: 1,
          duration: 3
        }
      ],
      space: { a: { kind: 'choice', args: [1, 2] } },
      curves: {
        r0: [
          [0, 1],
          [1, 2]
        ]
      }
    })!;
    expect([s.name, s.goal, s.budget, s.trials[0].value]).toEqual(['sweep-1', 'max', 4, 2]);
    expect(s.space.a).toEqual({ kind: 'choice', args: [1, 2] });
    expect(s.curves.r0).toEqual([
      [0, 1],
      [1, 2]
    ]);
  });

  it('overlays the curves on the union of their steps, a line per trial with a curve, by trial number', () => {
    const s = toSweep({
      id: 'sweep-1',
      trials: [trial(1, 'Completed', 2), trial(0, 'Pruned', 3), trial(2, 'Queued', null)],
      curves: {
        'run-0': [
          [0, 2],
          [5, 3]
        ],
        'run-1': [
          [0, 1, 2],
          [4, 3, 2]
        ]
      }
    })!;
    const o = overlay(s);
    expect(o.x).toEqual([0, 1, 2]);
    expect(o.lines.map(l => [l.trial.trial, l.y])).toEqual([
      [0, [5, null, 3]],
      [1, [4, 3, 2]]
    ]);
  });
});

describe('nesting sweeps in the run list', () => {
  const marks: Record<string, ISweepMark> = {
    d2: { id: 's1', role: 'driver', trial: null },
    t1: { id: 's1', role: 'trial', trial: 1 },
    t0: { id: 's1', role: 'trial', trial: 0 },
    d1: { id: 's1', role: 'driver', trial: null },
    u0: { id: 's2', role: 'trial', trial: 0 }
  };
  const runs = ['d2', 't1', 'plain', 't0', 'd1', 'u0'].map(id => ({ id }));
  const markOf = (r: { id: string }): ISweepMark | null => marks[r.id] ?? null;

  it('takes the trials out of the top level and counts them on the newest driver', () => {
    const placed = nestSweeps(runs, markOf, () => false);
    expect(placed.map(p => [p.run.id, p.depth, p.trials])).toEqual([
      ['d2', 0, 2],
      ['plain', 0, 0],
      ['d1', 0, 0],
      ['u0', 0, 0] // its driver is not listed: it stays
    ]);
  });

  it('shows them under the expanded driver by trial number', () => {
    const placed = nestSweeps(runs, markOf, id => id === 's1');
    expect(placed.map(p => [p.run.id, p.depth])).toEqual([
      ['d2', 0],
      ['t0', 1],
      ['t1', 1],
      ['plain', 0],
      ['d1', 0],
      ['u0', 0]
    ]);
  });
});

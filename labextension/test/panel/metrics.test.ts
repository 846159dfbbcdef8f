import { describe, expect, it } from 'vitest';
import { IRunRecord } from '../../src/panel/api';
import { mainMetric } from '../../src/panel/format';
import { MAX_POINTS } from '../../src/common/series';
import { compareTable, lowerIsBetter, MetricStore, sortRows } from '../../src/panel/metrics';

function run(id: string, over: Partial<IRunRecord>): IRunRecord {
  return {
    id,
    experiment: 'exp',
    name: `run-${id}`,
    status: 'Completed',
    created: 1000,
    target: 'local',
    mode: 'none',
    ranks: 1,
    stages: { Queued: 1000, Running: 1001 },
    exit_codes: [0],
    root_cause: null,
    metrics: {},
    params: {},
    ended: 1011,
    duration: 11,
    ...over
  };
}

const m = (last: number) => ({ last, min: last, max: last, count: 1 });

describe('compare table', () => {
  const a = run('a', {
    params: { lr: 0.1, epochs: 10, optimizer: 'adam' },
    metrics: { loss: m(0.5), accuracy: m(0.8) }
  });
  const b = run('b', {
    params: { lr: 0.01, epochs: 10, optimizer: 'adam', warmup: true },
    metrics: { loss: m(0.3), accuracy: m(0.7), lr_now: m(1e-4) },
    status: 'Running',
    ended: null
  });

  it('has one row per run with params and final metrics', () => {
    const t = compareTable([a, b], 1021);
    expect(t.rows.map(r => r.id)).toEqual(['a', 'b']);
    expect(t.rows[0].params).toEqual({ lr: '0.1', epochs: '10', optimizer: 'adam', warmup: '–' });
    expect(t.rows[1].params.warmup).toBe('true');
    expect(t.rows[0].metrics).toEqual({ loss: 0.5, accuracy: 0.8, lr_now: null });
    expect(t.rows[0].duration).toBe(10);
    expect(t.rows[1].duration).toBe(20); // live: up to now
  });

  it('lists differing params first, then the same ones, alphabetically', () => {
    const t = compareTable([a, b]);
    expect([...t.differing].sort()).toEqual(['lr', 'warmup']);
    expect(t.params).toEqual(['lr', 'warmup', 'epochs', 'optimizer']);
    expect(t.metrics).toEqual(['accuracy', 'loss', 'lr_now']);
  });

  it('marks the best final value where better is known', () => {
    const done = { ...b, status: 'Completed', ended: 1011 };
    const t = compareTable([a, done]);
    expect(t.best.get('loss')).toBe('b');
    expect(t.best.get('accuracy')).toBe('a');
    expect(t.best.has('lr_now')).toBe(false); // unknown direction, and only one value
  });

  it("marks only a Completed run as best: a failed or live run's last value is no result", () => {
    const c = run('c', { metrics: { loss: m(0.9), accuracy: m(0.1) } });
    const failed = run('f', { status: 'Failed', metrics: { loss: m(0.01), accuracy: m(0.99) } });
    const t = compareTable([a, failed, c]);
    expect(t.best.get('loss')).toBe('a');
    expect(t.best.get('accuracy')).toBe('a');
    // b is Running: a alone is left, and the best of one is not marked.
    expect(compareTable([a, b]).best.size).toBe(0);
  });

  it('titles a param and a metric of the same name apart', () => {
    const x = run('x', { params: { lr: 0.1, batch: 32 }, metrics: { lr: m(1e-3), loss: m(1) } });
    const t = compareTable([x]);
    expect(t.paramLabels).toEqual({ lr: 'param lr', batch: 'batch' });
    expect(t.metricLabels).toEqual({ lr: 'metric lr', loss: 'loss' });
  });

  it('copes with no runs and runs without params', () => {
    expect(compareTable([]).rows).toEqual([]);
    const t = compareTable([run('x', {}), run('y', {})]);
    expect(t.params).toEqual([]);
    expect(t.best.size).toBe(0);
  });
});

describe('metric direction and main metric', () => {
  it('knows loss-like and accuracy-like names', () => {
    expect(lowerIsBetter('val_loss')).toBe(true);
    expect(lowerIsBetter('test/mse')).toBe(true);
    expect(lowerIsBetter('accuracy')).toBe(false);
    expect(lowerIsBetter('val_acc')).toBe(false);
    expect(lowerIsBetter('lr')).toBe(null);
  });

  it('picks loss, then val_loss, then accuracy, else the first name', () => {
    expect(mainMetric({ accuracy: 1, loss: 1 })).toBe('loss');
    expect(mainMetric({ accuracy: 1, val_loss: 1 })).toBe('val_loss');
    expect(mainMetric({ zeta: 1, accuracy: 1 })).toBe('accuracy');
    expect(mainMetric({ zeta: 1, beta: 1 })).toBe('beta');
    expect(mainMetric({})).toBe(null);
  });
});

describe('metric store', () => {
  it('uses steps as x when the first value has one, time since the first metric otherwise', () => {
    const s = new MetricStore();
    s.addRecords(0, [
      { name: 'loss', value: 1, step: 0, time: 100 },
      { name: 'loss', value: 0.5, step: 1, time: 101 },
      { name: 'gpu_mem', value: 3, time: 100.5 },
      { name: 'gpu_mem', value: 4, step: null, time: 102 }
    ]);
    // A step metric keeps its points' times too (for a time axis).
    expect(s.series.get('loss')!.get(0)).toEqual({ x: [0, 1], y: [1, 0.5], t: [100, 101] });
    expect(s.xKind.get('gpu_mem')).toBe('time');
    expect(s.series.get('gpu_mem')!.get(0)!.x).toEqual([0.5, 2]);
    expect(s.last('loss')).toBe(0.5);
    expect(s.names).toEqual(['loss', 'gpu_mem']);
  });

  it('records progress (rank 0 wins) and skips non-numbers as gaps', () => {
    const s = new MetricStore();
    const changed = s.addRecords(1, [
      { event: 'progress', step: 3, total: 10, time: 1 },
      { name: 'loss', value: NaN, step: 0, time: 1 }
    ]);
    expect(changed).toEqual(new Set(['loss']));
    expect(s.progress).toEqual({ step: 3, total: 10, time: 1 });
    s.addRecords(0, [{ event: 'progress', step: 5, total: 10, time: 2 }]);
    s.addRecords(1, [{ event: 'progress', step: 6, total: 10, time: 3 }]);
    expect(s.progress!.step).toBe(5);
    expect(s.series.get('loss')!.get(1)!.y).toEqual([null]);
  });

  it('thins old points beyond the limit and keeps the newest', () => {
    const s = new MetricStore();
    for (let i = 0; i < MAX_POINTS * 2; i++) s.addPoint(0, 'loss', i, i, i);
    const ser = s.series.get('loss')!.get(0)!;
    expect(ser.x.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(ser.x[ser.x.length - 1]).toBe(MAX_POINTS * 2 - 1);
    expect(ser.x.every((x, i) => i === 0 || x > ser.x[i - 1])).toBe(true);
  });

  it('loads REST points', () => {
    const s = new MetricStore();
    s.load([
      { rank: 0, name: 'loss', value: 2, step: 0, time: 5 },
      { rank: 1, name: 'loss', value: 4, step: 0, time: 5 }
    ]);
    expect([...s.series.get('loss')!.keys()]).toEqual([0, 1]);
    expect(s.count('loss')).toBe(2);
  });
});

describe('metric store of a restarted run', () => {
  it('keeps each record attempt and the highest one seen', () => {
    const s = new MetricStore();
    s.addRecords(0, [
      { name: 'loss', value: 3, step: 0, time: 1 },
      { name: 'loss', value: 2, step: 1, time: 2 }
    ]);
    expect(s.maxAttempt).toBe(1);
    expect(s.series.get('loss')!.get(0)).toEqual({ x: [0, 1], y: [3, 2], t: [1, 2] });
    s.addRecords(0, [{ name: 'loss', value: 1.5, step: 1, time: 9, attempt: 2 }]);
    expect(s.maxAttempt).toBe(2);
    expect(s.series.get('loss')!.get(0)).toEqual({
      x: [0, 1, 1],
      y: [3, 2, 1.5],
      a: [1, 1, 2],
      t: [1, 2, 9]
    });
    s.load([
      { rank: 0, name: 'loss', value: 2, step: 0, time: 5, attempt: 3 },
      { rank: 0, name: 'loss', value: 4, step: 0, time: 1 }
    ]);
    expect(s.maxAttempt).toBe(3);
    expect(s.series.get('loss')!.get(0)!.a).toEqual([3, 1]);
    s.load([]);
    expect(s.maxAttempt).toBe(1);
  });
});

describe('sortRows', () => {
  const row = (id: string, lr: string, loss: number | null, status = 'Completed') => ({
    id,
    name: id,
    experiment: 'e',
    status,
    duration: 1,
    params: { lr },
    metrics: { loss }
  });
  const rows = [
    row('a', '0.1', 0.5),
    row('b', '0.01', null),
    row('c', '1e-3', 0.2),
    row('d', '–', 0.9)
  ];

  it('sorts params as numbers, missing values last, both ways', () => {
    expect(sortRows(rows, { kind: 'param', name: 'lr' }).map(r => r.id)).toEqual([
      'c',
      'b',
      'a',
      'd'
    ]);
    expect(sortRows(rows, { kind: 'param', name: 'lr', descending: true }).map(r => r.id)).toEqual([
      'a',
      'b',
      'c',
      'd'
    ]);
  });

  it('sorts metrics by value with runs without one last, and keeps ties in order', () => {
    expect(sortRows(rows, { kind: 'metric', name: 'loss' }).map(r => r.id)).toEqual([
      'c',
      'a',
      'd',
      'b'
    ]);
    expect(sortRows(rows, { kind: 'duration' }).map(r => r.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sorts names in natural order', () => {
    const named = [row('run-10', '1', 1), row('run-9', '1', 1)];
    expect(sortRows(named, { kind: 'name' }).map(r => r.id)).toEqual(['run-9', 'run-10']);
  });
});

describe('MetricStore times of step metrics', () => {
  it("keeps each point's time beside its step, through thinning", () => {
    const store = new MetricStore();
    for (let i = 0; i < MAX_POINTS + 10; i++) store.addPoint(0, 'loss', 1 / (i + 1), i, 1000 + i);
    const s = store.series.get('loss')!.get(0)!;
    expect(s.t!.length).toBe(s.x.length);
    for (let i = 0; i < s.x.length; i++) expect(s.t![i]).toBe(1000 + s.x[i]);
    expect(store.t0).toBe(1000);
  });
});

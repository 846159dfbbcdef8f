import { describe, expect, it } from 'vitest';
import { chartData, IBoardSettings } from '../../src/common/charts/board';
import {
  bandOf,
  effectiveXAxis,
  emaSmooth,
  groupKey,
  groupMetrics,
  logSafe,
  timeSeries,
  xValues
} from '../../src/common/charts/transform';
import { ZoomState } from '../../src/common/charts/zoom';
import { ISeries } from '../../src/common/series';

const SETTINGS: IBoardSettings = {
  mode: 'rank',
  smoothing: 0,
  log: false,
  axis: 'step',
  everyAttempt: false
};

function ranks(...ys: (number | null)[][]): Map<number, ISeries> {
  return new Map(ys.map((y, r) => [r, { x: y.map((_, i) => i), y }]));
}

describe('emaSmooth', () => {
  it('is the identity at weight 0', () => {
    expect(emaSmooth([1, 2, null, 4], 0)).toEqual([1, 2, null, 4]);
  });

  it('is debiased: a constant stays constant from the first point', () => {
    const out = emaSmooth([5, 5, 5, 5], 0.9);
    for (const v of out) expect(v).toBeCloseTo(5, 10);
  });

  it('follows a step slowly with a high weight, keeping gaps as gaps', () => {
    const out = emaSmooth([0, 0, null, 10, 10], 0.5);
    expect(out[2]).toBeNull();
    expect(out[0]).toBe(0);
    // after the gap: (0.5*0 + 0.5*10) with 3 points seen -> 5/(1-0.125)
    expect(out[3]).toBeCloseTo(5 / 0.875, 10);
    expect(out[4]!).toBeGreaterThan(out[3]!);
    expect(out[4]!).toBeLessThan(10);
  });
});

describe('logSafe', () => {
  it('turns values a log axis cannot draw into gaps', () => {
    expect(logSafe([1, 0, -2, null, 0.5])).toEqual([1, null, null, null, 0.5]);
  });
});

describe('x axis', () => {
  it('keeps steps for step metrics whatever is asked', () => {
    expect(effectiveXAxis('wall', 'step')).toBe('step');
    expect(effectiveXAxis('step', 'time')).toBe('relative');
    expect(effectiveXAxis('wall', 'time')).toBe('wall');
  });

  it('shifts relative seconds to wall time by the origin', () => {
    expect(xValues([0, 1.5], 'wall', 1000)).toEqual([1000, 1001.5]);
    expect(xValues([0, 1.5], 'relative', 1000)).toEqual([0, 1.5]);
    expect(xValues([0, 1.5], 'wall', null)).toEqual([0, 1.5]);
  });
});

describe('groupMetrics', () => {
  it('puts train, val, other prefixes, the rest, then system, keeping first-seen order', () => {
    const groups = groupMetrics([
      'system/cpu_percent',
      'loss',
      'val/loss',
      'train/loss',
      'eval/acc',
      'gpu/util',
      'train/acc',
      'system/rss_mb'
    ]);
    expect(groups.map(g => [g.key, g.title, g.names])).toEqual([
      ['train', 'Train', ['train/loss', 'train/acc']],
      ['val', 'Validation', ['val/loss', 'eval/acc']],
      ['gpu', 'gpu', ['gpu/util']],
      ['', 'Metrics', ['loss']],
      ['system', 'System', ['system/cpu_percent', 'system/rss_mb']]
    ]);
  });

  it('reads a leading slash or no prefix as ungrouped', () => {
    expect(groupKey('/x')).toBe('');
    expect(groupKey('loss')).toBe('');
    expect(groupKey('Validation/loss')).toBe('val');
  });
});

describe('bandOf', () => {
  it('gives min, max and mean over ranks at each x; a lone rank is a zero-width band', () => {
    const byRank = new Map<number, ISeries>([
      [0, { x: [0, 1, 2], y: [1, 4, null] }],
      [1, { x: [0, 1], y: [3, 2] }],
      [2, { x: [2], y: [7] }]
    ]);
    expect(bandOf(byRank)).toEqual({
      x: [0, 1, 2],
      lower: [1, 2, 7],
      upper: [3, 4, 7],
      mean: [2, 3, 7]
    });
  });
});

describe('ZoomState', () => {
  it('zooms to a dragged range in either direction and resets', () => {
    const z = new ZoomState();
    expect(z.zoomed).toBe(false);
    expect(z.select(8, 2)).toBe(true);
    expect(z.range).toEqual([2, 8]);
    expect(z.covers([0, 1])).toBe(false);
    expect(z.covers([0, 5])).toBe(true);
    expect(z.reset()).toBe(true);
    expect(z.range).toBeNull();
    expect(z.reset()).toBe(false);
  });

  it('ignores a click (no width) and non-finite values', () => {
    const z = new ZoomState();
    expect(z.select(3, 3)).toBe(false);
    expect(z.select(3, 3.05, 0.1)).toBe(false);
    expect(z.select(NaN, 3)).toBe(false);
    expect(z.zoomed).toBe(false);
  });
});

describe('chartData', () => {
  it('draws a line per rank, each rank in its own stable colour', () => {
    const byRank = new Map<number, ISeries>([
      [3, { x: [0, 1], y: [1, 2] }],
      [1, { x: [0, 1], y: [3, 4] }]
    ]);
    const d = chartData('loss', byRank, 'step', null, SETTINGS);
    expect(d.lines.map(l => [l.label, l.color])).toEqual([
      ['rank 1', 1],
      ['rank 3', 3]
    ]);
    expect(d.points).toBe(4);
    expect(d.band).toBeUndefined();
    expect(d.yLabel).toBe('loss');
  });

  it('draws the min-max band between its min and max lines, with the mean', () => {
    const d = chartData('loss', ranks([1, 2], [3, 6]), 'step', null, {
      ...SETTINGS,
      mode: 'minmax'
    });
    expect(d.lines.map(l => l.label)).toEqual(['min', 'max', 'mean of 2 ranks']);
    expect(d.band).toMatchObject({ upper: 1, lower: 0 });
    expect(d.band!.fill).toMatch(/^rgba\(/);
    expect(d.lines[2].y).toEqual([2, 4]);
  });

  it('smooths the lines and keeps the raw ones faint beneath; log makes non-positive values gaps', () => {
    const d = chartData('loss', ranks([4, 0, 4]), 'step', null, {
      ...SETTINGS,
      smoothing: 0.5,
      log: true
    });
    expect(d.lines.map(l => [l.label, !!l.raw])).toEqual([
      ['rank 0', false],
      ['rank 0 (raw)', true]
    ]);
    expect(d.lines[1].y).toEqual([4, null, 4]);
    expect(d.lines[0].y[1]).toBeCloseTo(4 / 3, 10);
    expect(d.log).toBe(true);
  });

  it('uses wall time only for time metrics', () => {
    const s = { ...SETTINGS, axis: 'wall' as const };
    expect(chartData('a', ranks([1, 2]), 'time', 100, s).x).toEqual([100, 101]);
    expect(chartData('a', ranks([1, 2]), 'step', 100, s).x).toEqual([0, 1]);
  });
});

describe('a step metric on a time axis', () => {
  const timed = new Map<number, ISeries>([
    [0, { x: [0, 1], y: [5, 4], t: [1000, 1002] }],
    [1, { x: [0, 1], y: [6, 3], t: [1001, 1004] }]
  ]);

  it("takes x from the points' times, from the origin or the earliest time", () => {
    expect(timeSeries(timed, 1000)!.get(1)!.x).toEqual([1, 4]);
    expect(timeSeries(timed, null)!.get(0)!.x).toEqual([0, 2]);
    expect(timeSeries(new Map([[0, { x: [0], y: [1] }]]), 0)).toBeNull();
  });

  it('is drawn on relative or wall time when times are known, else on steps', () => {
    const rel = chartData('loss', timed, 'step', 1000, { ...SETTINGS, axis: 'relative' });
    expect([rel.axis, rel.x]).toEqual(['relative', [0, 1, 2, 4]]);
    expect(rel.lines[1].y).toEqual([null, 6, null, 3]);
    const wall = chartData('loss', timed, 'step', 1000, { ...SETTINGS, axis: 'wall' });
    expect([wall.axis, wall.x]).toEqual(['wall', [1000, 1001, 1002, 1004]]);
    const untimed = chartData('loss', ranks([1, 2]), 'step', 1000, { ...SETTINGS, axis: 'wall' });
    expect([untimed.axis, untimed.x]).toEqual(['step', [0, 1]]);
  });
});

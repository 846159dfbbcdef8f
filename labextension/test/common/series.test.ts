import { describe, expect, it } from 'vitest';
import {
  aggregateRanks,
  alignSeries,
  ISeries,
  MAX_POINTS,
  meanOf,
  meanOverRanks,
  seriesOf,
  sortRanks,
  thin,
  toY
} from '../../src/common/series';

describe('thinning', () => {
  it('keeps at most MAX_POINTS, the newest half untouched', () => {
    const s: ISeries = { x: [], y: [] };
    for (let i = 0; i < MAX_POINTS * 2; i++) {
      s.x.push(i);
      s.y.push(i);
      thin(s);
    }
    expect(s.x.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(s.x[s.x.length - 1]).toBe(MAX_POINTS * 2 - 1);
    expect(s.x.every((x, i) => i === 0 || x > s.x[i - 1])).toBe(true);
    expect(s.y).toEqual(s.x);
  });

  it('drops every second point of the older half', () => {
    const s: ISeries = { x: [0, 1, 2, 3, 4, 5], y: [0, 1, 2, 3, 4, 5] };
    thin(s, 5);
    expect(s.x).toEqual([0, 2, 3, 4, 5]);
  });
});

describe('rank alignment', () => {
  it('shares x when every series has the same ascending steps', () => {
    const a = { x: [0, 1], y: [1, 2] };
    const d = alignSeries([a, { x: [0, 1], y: [3, 4] }]);
    expect(d).toEqual([
      [0, 1],
      [1, 2],
      [3, 4]
    ]);
    expect(d[1]).not.toBe(a.y); // copies: the series may grow while drawn
  });

  it('unions and sorts x, with nulls where a series has no point', () => {
    expect(
      alignSeries([
        { x: [2, 0], y: [20, 0] },
        { x: [1, 2], y: [10, 21] }
      ])
    ).toEqual([
      [0, 1, 2],
      [0, null, 20],
      [null, 10, 21]
    ]);
  });

  it('keeps the last value of a repeated x', () => {
    expect(alignSeries([{ x: [0, 1, 1], y: [5, 6, 7] }])).toEqual([
      [0, 1],
      [5, 7]
    ]);
  });

  it('has nothing to align without series', () => {
    expect(alignSeries([])).toEqual([[]]);
  });
});

describe('aggregation over ranks', () => {
  const byRank = new Map([
    [0, { x: [0, 1], y: [1, 3] }],
    [1, { x: [0, 1, 2], y: [3, null, 5] }]
  ]);

  it('averages ranks at each step, leaving out ranks without a value there', () => {
    expect(meanOverRanks(byRank)).toEqual({ x: [0, 1, 2], y: [2, 3, 5] });
  });

  it('gives min and max beside the mean', () => {
    expect(aggregateRanks(byRank)).toEqual({
      x: [0, 1, 2],
      mean: [2, 3, 5],
      min: [1, 3, 5],
      max: [3, 3, 5]
    });
  });

  it('takes string rank keys too, and a single rank as it is', () => {
    const one = { x: [0], y: [1] };
    expect(meanOverRanks(new Map([['0', one]]))).toBe(one);
    expect(
      meanOverRanks(
        new Map([
          ['1', { x: [0], y: [4] }],
          ['0', one]
        ])
      )
    ).toEqual({
      x: [0],
      y: [2.5]
    });
  });

  it('averages the numbers of a list of values', () => {
    expect(meanOf([1, 2, 'x', null, 6])).toBe(3);
    expect(meanOf(['x'])).toBeNull();
  });
});

describe('ranks and values', () => {
  it('sorts rank keys numerically, others last', () => {
    expect(sortRanks(['10', '2', '0', 'x', '1'])).toEqual(['0', '1', '2', '10', 'x']);
    expect(sortRanks([3, 1, 2])).toEqual([1, 2, 3]);
  });

  it('turns what is not a finite number into a gap', () => {
    expect(toY(1.5)).toBe(1.5);
    expect(toY('1')).toBeNull();
    expect(toY(Infinity)).toBeNull();
  });
});

describe('series by metric and rank', () => {
  it('creates a series on first use and returns the same one after', () => {
    const byMetric = new Map<string, Map<number, ISeries>>();
    const s = seriesOf(byMetric, 'loss', 1);
    s.x.push(0);
    expect(seriesOf(byMetric, 'loss', 1)).toBe(s);
    expect([...byMetric.get('loss')!.keys()]).toEqual([1]);
  });
});

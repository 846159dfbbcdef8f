import { describe, expect, it } from 'vitest';
import {
  aggregateRanks,
  alignSeries,
  attemptLines,
  byAttempt,
  ISeries,
  maxAttempt,
  meanOverRanks,
  pushPoint,
  splitAttempts,
  thin,
  toAttempt
} from '../../src/common/series';

/** A series from [x, y, attempt] points, in arrival order. */
function series(points: [number, number, number][]): ISeries {
  const s: ISeries = { x: [], y: [] };
  for (const [x, y, a] of points) pushPoint(s, x, y, a);
  return s;
}

// Attempt 1 logs steps 0..3 and fails; attempt 2 resumes from the checkpoint at step 2.
const restarted = (): ISeries =>
  series([
    [0, 10, 1],
    [1, 11, 1],
    [2, 12, 1],
    [3, 13, 1],
    [2, 22, 2],
    [3, 23, 2],
    [4, 24, 2]
  ]);

describe('attempts of a restarted run', () => {
  it('reads a record attempt: absent, 1 or junk means 1', () => {
    expect(toAttempt(undefined)).toBe(1);
    expect(toAttempt(1)).toBe(1);
    expect(toAttempt(0)).toBe(1);
    expect(toAttempt('2')).toBe(1);
    expect(toAttempt(2.5)).toBe(1);
    expect(toAttempt(3)).toBe(3);
  });

  it('keeps no attempt array until a later attempt comes, then fills the earlier points with 1', () => {
    const s: ISeries = { x: [], y: [] };
    pushPoint(s, 0, 1);
    pushPoint(s, 1, 2, 1);
    expect(s).toEqual({ x: [0, 1], y: [1, 2] });
    expect(maxAttempt(s)).toBe(1);
    pushPoint(s, 1, 3, 2);
    pushPoint(s, 2, 4);
    expect(s.a).toEqual([1, 1, 2, 1]);
    expect(maxAttempt(s)).toBe(2);
  });

  it('thins the attempts along with the points', () => {
    const s = series([
      [0, 0, 1],
      [1, 1, 1],
      [2, 2, 1],
      [1, 3, 2],
      [2, 4, 2],
      [3, 5, 2]
    ]);
    thin(s, 5);
    expect(s.x).toEqual([0, 2, 1, 2, 3]);
    expect(s.a).toEqual([1, 1, 2, 2, 2]);
  });

  it('draws by default the latest attempt of each step', () => {
    expect(alignSeries([restarted()])).toEqual([
      [0, 1, 2, 3, 4],
      [10, 11, 22, 23, 24]
    ]);
  });

  it('lets the highest attempt win even when an earlier attempt arrives last', () => {
    // e.g. a reload whose points come rank file by attempt, or a late batch of attempt 1
    const s = series([
      [2, 22, 2],
      [3, 23, 2],
      [0, 10, 1],
      [1, 11, 1],
      [2, 12, 1],
      [3, 13, 1]
    ]);
    expect(alignSeries([s])).toEqual([
      [0, 1, 2, 3],
      [10, 11, 22, 23]
    ]);
    // Within one attempt the last value of a step still wins.
    expect(
      alignSeries([
        series([
          [0, 1, 2],
          [0, 2, 2],
          [0, 3, 1]
        ])
      ])
    ).toEqual([[0], [2]]);
  });

  it('averages over ranks with each rank at its latest attempt', () => {
    const byRank = new Map<number, ISeries>([
      [0, restarted()],
      [1, { x: [0, 1, 2, 3, 4], y: [0, 1, 2, 3, 4] }]
    ]);
    const a = aggregateRanks(byRank);
    expect(a.x).toEqual([0, 1, 2, 3, 4]);
    expect(a.mean).toEqual([5, 6, 12, 13, 14]);
    expect(meanOverRanks(new Map([[0, restarted()]]))).toEqual({
      x: [0, 1, 2, 3, 4],
      y: [10, 11, 22, 23, 24]
    });
  });

  it('splits a series by attempt, ascending', () => {
    const split = splitAttempts(restarted());
    expect([...split.keys()]).toEqual([1, 2]);
    expect(split.get(1)).toEqual({ x: [0, 1, 2, 3], y: [10, 11, 12, 13] });
    expect(split.get(2)).toEqual({ x: [2, 3, 4], y: [22, 23, 24] });
    const plain = { x: [0], y: [1] };
    expect([...splitAttempts(plain)]).toEqual([[1, { x: [0], y: [1] }]]);
  });

  it('groups ranks by attempt', () => {
    const m = byAttempt(
      new Map<string, ISeries>([
        ['1', { x: [0], y: [5] }],
        ['0', restarted()]
      ])
    );
    expect([...m.keys()]).toEqual([1, 2]);
    expect([...m.get(1)!.keys()]).toEqual(['0', '1']);
    expect([...m.get(2)!.keys()]).toEqual(['0']);
  });

  it('labels a line per rank and attempt, or the mean of each attempt', () => {
    const byRank = new Map<number, ISeries>([
      [
        1,
        series([
          [0, 1, 1],
          [0, 3, 2]
        ])
      ],
      [0, restarted()]
    ]);
    const lines = attemptLines(byRank);
    expect(lines.map(l => l.label)).toEqual([
      'rank 0 · attempt 1',
      'rank 0 · attempt 2',
      'rank 1 · attempt 1',
      'rank 1 · attempt 2'
    ]);
    expect(lines.map(l => l.attempt)).toEqual([1, 2, 1, 2]);
    expect(lines[1].data).toEqual({ x: [2, 3, 4], y: [22, 23, 24] });
    const means = attemptLines(byRank, true, 'mean of 2 ranks');
    expect(means.map(l => l.label)).toEqual([
      'mean of 2 ranks · attempt 1',
      'mean of 2 ranks · attempt 2'
    ]);
    expect(means[1].data).toEqual({ x: [0, 2, 3, 4], y: [3, 22, 23, 24] });
  });
});

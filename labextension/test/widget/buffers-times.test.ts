import { describe, expect, it } from 'vitest';
import { chartData, IBoardSettings } from '../../src/common/charts/board';
import { RunBuffers } from '../../src/widget/buffers';

const SETTINGS: IBoardSettings = {
  mode: 'rank',
  smoothing: 0,
  log: false,
  axis: 'step',
  everyAttempt: false
};

describe("widget buffers: a step metric's point times", () => {
  it('keeps the times of the history and of each delta beside the points', () => {
    const b = new RunBuffers();
    b.loadHistory({
      seq: 1,
      series: {
        loss: {
          '0': [
            [0, 1],
            [0.5, 0.4]
          ]
        }
      },
      times: { loss: { '0': [0.5, 2] } },
      x_kind: { loss: 'step' }
    });
    b.applyDelta({
      seq: 2,
      points: { loss: { '0': [[2], [0.3]] } },
      times: { loss: { '0': [4] } }
    });
    expect(b.series.get('loss')!.get('0')).toEqual({
      x: [0, 1, 2],
      y: [0.5, 0.4, 0.3],
      t: [0.5, 2, 4]
    });
  });

  it('drops the times of a series once a point comes without one (an older kernel)', () => {
    const b = new RunBuffers();
    b.applyDelta({ seq: 1, points: { loss: { '0': [[0], [1]] } }, times: { loss: { '0': [1] } } });
    b.applyDelta({ seq: 2, points: { loss: { '0': [[1], [2]] } } });
    expect(b.series.get('loss')!.get('0')!.t).toBeUndefined();
  });

  it('draws a step metric on relative and wall time from the times, counted from created', () => {
    const b = new RunBuffers();
    b.loadHistory({
      series: {
        loss: {
          '0': [
            [0, 1, 2],
            [3, 2, 1]
          ],
          '1': [
            [0, 1],
            [4, 3]
          ]
        }
      },
      times: { loss: { '0': [1, 2, 5], '1': [1.5, 3] } }
    });
    const byRank = b.series.get('loss')!;
    const created = 1_700_000_000;
    const rel = chartData(
      'loss',
      byRank,
      'step',
      created,
      { ...SETTINGS, axis: 'relative' },
      false,
      created
    );
    expect([rel.axis, rel.x]).toEqual(['relative', [1, 1.5, 2, 3, 5]]);
    expect(rel.lines.map(l => l.y)).toEqual([
      [3, null, 2, null, 1],
      [null, 4, null, 3, null]
    ]);
    const wall = chartData(
      'loss',
      byRank,
      'step',
      created,
      { ...SETTINGS, axis: 'wall' },
      false,
      created
    );
    expect([wall.axis, wall.x]).toEqual(['wall', [1, 1.5, 2, 3, 5].map(t => created + t)]);
    const step = chartData('loss', byRank, 'step', created, SETTINGS, false, created);
    expect([step.axis, step.x]).toEqual(['step', [0, 1, 2]]);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_LINES, RunBuffers } from '../../src/widget/buffers';

describe('widget buffers', () => {
  it('loads a history snapshot of logs, skipped counts, partial lines and series', () => {
    const b = new RunBuffers();
    b.loadHistory({
      seq: 4,
      logs: { '0': ['a', 'b'], '1': ['c'] },
      skipped: { '0': 10 },
      partial: { '1': '50%' },
      series: {
        loss: {
          '0': [
            [0, 1],
            [0.5, 'x']
          ]
        }
      },
      x_kind: { loss: 'step' }
    });
    expect(b.seq).toBe(4);
    expect(b.logs.get('0')!.entries.map(e => e.t)).toEqual(['a', 'b']);
    expect(b.logs.get('0')!.total).toBe(12);
    expect(b.logs.get('1')!.partial).toBe('50%');
    expect(b.series.get('loss')!.get('0')).toEqual({ x: [0, 1], y: [0.5, null] });
    expect(b.xKind.loss).toBe('step');
  });

  it('survives a missing or malformed history', () => {
    const b = new RunBuffers();
    b.loadHistory(null);
    expect(b.seq).toBeNull();
    b.loadHistory({ logs: 'x', series: { m: { '0': [1] } } });
    expect(b.logs.size).toBe(0);
    expect(b.series.get('m')?.get('0')).toBeUndefined();
  });

  it('applies a delta: new lines after a skip marker, partial lines, points', () => {
    const b = new RunBuffers();
    b.loadHistory({ seq: 1, logs: { '0': ['a'] }, partial: { '0': '10%' } });
    const ch = b.applyDelta({
      seq: 2,
      logs: { '0': ['b', 'c'] },
      skipped: { '0': 5 },
      points: { loss: { '1': [[3], [0.25]] } }
    });
    expect(b.seq).toBe(2);
    expect(ch.lines.get('0')!.map(e => e.skip ?? e.t)).toEqual([5, 'b', 'c']);
    // Complete lines end the partial one.
    expect(ch.partials.has('0')).toBe(true);
    expect(b.logs.get('0')!.partial).toBe('');
    expect(b.logs.get('0')!.total).toBe(8);
    expect([...ch.metrics]).toEqual(['loss']);
    const keys = b.logs.get('0')!.entries.map(e => e.k);
    expect([...keys].sort((x, y) => x - y)).toEqual(keys);
  });

  it('keeps at most MAX_LINES lines per rank, counting all', () => {
    const b = new RunBuffers();
    b.loadHistory({ seq: 1 });
    const lines = Array.from({ length: MAX_LINES + 7 }, (_, i) => `l${i}`);
    const ch = b.applyDelta({ seq: 2, logs: { '0': lines } });
    const rl = b.logs.get('0')!;
    expect(rl.entries.length).toBe(MAX_LINES);
    expect(rl.entries[0].t).toBe('l7');
    expect(rl.total).toBe(MAX_LINES + 7);
    expect(ch.lines.get('0')!.length).toBe(MAX_LINES);
  });
});

describe('series of a restarted run', () => {
  it('reads [xs, ys, attempts] from history and deltas; [xs, ys] means attempt 1', () => {
    const b = new RunBuffers();
    b.loadHistory({
      seq: 1,
      series: {
        loss: {
          '0': [
            [0, 1],
            [5, 4]
          ]
        }
      }
    });
    expect(b.maxAttempt).toBe(1);
    expect(b.series.get('loss')!.get('0')).toEqual({ x: [0, 1], y: [5, 4] });
    b.applyDelta({
      seq: 2,
      points: {
        loss: {
          '0': [
            [1, 2],
            [3.5, 3],
            [2, 2]
          ]
        }
      }
    });
    expect(b.maxAttempt).toBe(2);
    expect(b.series.get('loss')!.get('0')).toEqual({
      x: [0, 1, 1, 2],
      y: [5, 4, 3.5, 3],
      a: [1, 1, 2, 2]
    });
    b.reset();
    expect(b.maxAttempt).toBe(1);
  });
});

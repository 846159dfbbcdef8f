// @vitest-environment happy-dom
// The widget's "every attempt" toggle, with uPlot replaced by a recorder of what it is given.
import { describe, expect, it, vi } from 'vitest';

const plots: { labels: (string | undefined)[]; dash: unknown[]; data: unknown }[] = [];
vi.mock('uplot', () => ({
  default: class {
    width = 320;
    constructor(opts: { series: { label?: string; dash?: unknown }[] }, data: unknown) {
      plots.push({
        labels: opts.series.slice(1).map(s => s.label),
        dash: opts.series.slice(1).map(s => s.dash),
        data
      });
    }
    setData(): void {}
    setSize(): void {}
    destroy(): void {}
  }
}));

const { Charts } = await import('../../src/widget/charts');
const { RunBuffers } = await import('../../src/widget/buffers');

describe('widget charts of a restarted run', () => {
  it('shows "every attempt" only after a later attempt, then a line per rank and attempt', () => {
    const b = new RunBuffers();
    b.loadHistory({
      seq: 1,
      series: {
        loss: {
          '0': [
            [0, 1, 2],
            [3, 2, 1]
          ]
        }
      }
    });
    const c = new Charts(b, () => null);
    document.body.append(c.root);
    c.update(null);
    const label = c.root.querySelector('.mltrain-every-attempt') as HTMLLabelElement;
    expect(label.hidden).toBe(true);
    expect(plots.at(-1)!.labels).toEqual(['rank 0']);

    b.applyDelta({
      seq: 2,
      points: {
        loss: {
          '0': [
            [1, 2],
            [1.5, 0.5],
            [2, 2]
          ]
        }
      }
    });
    c.update(null);
    expect(label.hidden).toBe(false);
    // Default: the latest attempt's value of each step.
    expect(plots.at(-1)!.labels).toEqual(['rank 0']);

    const box = c.root.querySelector('[data-testid=mltrain-every-attempt]') as HTMLInputElement;
    box.checked = true;
    box.dispatchEvent(new Event('change'));
    const p = plots.at(-1)!;
    expect(p.labels).toEqual(['rank 0 · attempt 1', 'rank 0 · attempt 2']);
    expect(p.dash).toEqual([[4, 3], undefined]);
    expect(p.data).toEqual([
      [0, 1, 2],
      [3, 2, 1],
      [null, 1.5, 0.5]
    ]);
    c.destroy();
  });
});

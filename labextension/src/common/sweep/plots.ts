// The sweep's two line charts on the shared uPlot chart: the best value so far by trial number, and the
// primary metric's curve of every trial overlaid by step (the best trial bold, pruned ones dashed).
import { MetricChart } from '../charts/chart';
import { h } from '../dom';
import { fmtValue } from '../format';
import { bestSoFar, bestTrial, ISweep, overlay } from './model';

let plots = 0;

/** The best-so-far and overlay charts of one sweep view. */
export class SweepPlots {
  constructor() {
    const key = `mltrain-sweep-${++plots}`;
    this.best = new MetricChart('best so far', `${key}-best`, 'best so far');
    this.curves = new MetricChart('every trial', `${key}-curves`, 'every trial');
    this.bestWrap = h(
      'div',
      { class: 'mltrain-sweep-plot', 'data-testid': 'mltrain-sweep-best-chart', hidden: true },
      this.best.root
    );
    this.curvesWrap = h(
      'div',
      { class: 'mltrain-sweep-plot', 'data-testid': 'mltrain-sweep-overlay', hidden: true },
      this.curves.root
    );
    this.root = h('div', { class: 'mltrain-sweep-plots' }, this.bestWrap, this.curvesWrap);
  }

  readonly root: HTMLDivElement;

  update(sweep: ISweep): void {
    const b = bestSoFar(sweep.trials, sweep.goal);
    this.bestWrap.hidden = !b.best.some(v => v !== null);
    if (!this.bestWrap.hidden) {
      this.best.setTitle(`best ${sweep.metric} so far`);
      const last = b.best[b.best.length - 1];
      this.best.setLast(fmtValue(last));
      this.best.draw({
        x: b.x,
        lines: [
          { label: 'best so far', color: 0, y: b.best, width: 2.5 },
          { label: 'trial', color: 1, y: b.value, alpha: 0.6, dash: [2, 3] }
        ],
        axis: 'step',
        xLabel: 'trial',
        xWhole: true,
        log: false,
        yLabel: sweep.metric,
        points: b.x.length
      });
    }
    const o = overlay(sweep);
    this.curvesWrap.hidden = o.lines.length === 0;
    if (this.curvesWrap.hidden) return;
    const best = bestTrial(sweep.trials, sweep.goal);
    this.curves.setTitle(`${sweep.metric} of every trial`);
    this.curves.setLast(`${o.lines.length} trial${o.lines.length === 1 ? '' : 's'}`);
    this.curves.draw({
      x: o.x,
      lines: o.lines.map(({ trial, y }) => ({
        label: `#${trial.trial}${trial.status === 'Pruned' ? ' (pruned)' : ''}`,
        color: trial.trial,
        y,
        width: trial === best ? 3 : 1.25,
        dash: trial.status === 'Pruned' || trial.status === 'Failed' ? [4, 3] : undefined
      })),
      axis: 'step',
      log: false,
      yLabel: sweep.metric,
      points: o.lines.reduce((n, l) => n + l.y.filter(v => v !== null).length, 0)
    });
  }

  destroy(): void {
    this.best.destroy();
    this.curves.destroy();
    this.root.remove();
  }

  private best: MetricChart;
  private curves: MetricChart;
  private bestWrap: HTMLDivElement;
  private curvesWrap: HTMLDivElement;
}

// Parallel coordinates of a sweep, as plain SVG: an axis per parameter (log for loguniform, ordinal for a
// choice) and one for the primary metric; a line per trial, coloured from best to worst; the best one bold;
// failed, pruned and canceled trials grey and dashed.
import { fmtParam, fmtValue } from '../format';
import {
  axisTicks,
  bestTrial,
  IAxis,
  ISweep,
  paramAxis,
  paramNames,
  scaleAxis,
  valueAxis
} from './model';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 240;
const TOP = 30;
const BOTTOM = 16;
const SIDE = 48;

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Colour of a value's rank among the completed trials: 0 (best) teal … 1 (worst) orange. */
export function rankColor(rank: number): string {
  const hue = 175 - 145 * Math.min(1, Math.max(0, rank));
  return `hsl(${Math.round(hue)}, 65%, 42%)`;
}

/** The parallel-coordinates plot. */
export class ParallelCoords {
  constructor() {
    this.root = document.createElement('div');
    this.root.className = 'mltrain-sweep-parcoords';
    this.resizer = new ResizeObserver(() => {
      if (this.sweep && Math.abs(this.root.clientWidth - this.width) > 4) this.update(this.sweep);
    });
    this.resizer.observe(this.root);
  }

  readonly root: HTMLDivElement;

  update(sweep: ISweep): void {
    this.sweep = sweep;
    this.width = this.root.clientWidth || 640;
    const names = paramNames(sweep);
    const axes: IAxis[] = names.map(n =>
      paramAxis(
        n,
        sweep.space[n],
        sweep.trials.map(t => t.params[n])
      )
    );
    axes.push(
      valueAxis(
        sweep.metric,
        sweep.trials.map(t => t.value)
      )
    );
    const svg = el('svg', {
      width: this.width,
      height: HEIGHT,
      viewBox: `0 0 ${this.width} ${HEIGHT}`,
      'data-testid': 'mltrain-sweep-parcoords',
      'data-axes': axes.length,
      role: 'img',
      'aria-label': `parameters of each trial against ${sweep.metric}`
    });
    const xs = axes.map((_, i) =>
      axes.length === 1 ? this.width / 2 : SIDE + (i * (this.width - 2 * SIDE)) / (axes.length - 1)
    );
    const y = (f: number): number => TOP + (1 - f) * (HEIGHT - TOP - BOTTOM);
    const done = sweep.trials.filter(t => t.status === 'Completed' && t.value !== null);
    const order = done.map(t => t.value!).sort((a, b) => (sweep.goal === 'min' ? a - b : b - a));
    const best = bestTrial(sweep.trials, sweep.goal);
    const lines = el('g', { class: 'mltrain-pc-lines' });
    // The best trial last: drawn on top.
    const trials = [...sweep.trials].sort((a, b) =>
      a === best ? 1 : b === best ? -1 : a.trial - b.trial
    );
    for (const t of trials) {
      const values = [...names.map(n => t.params[n]), t.value];
      const points = axes
        .map((a, i) => [xs[i], scaleAxis(a, values[i])] as const)
        .filter(([, f]) => f !== null)
        .map(([x, f]) => `${x.toFixed(1)},${y(f!).toFixed(1)}`);
      if (points.length < 2) continue;
      const ended = ['Failed', 'Pruned', 'Canceled', 'Lost'].includes(t.status);
      const rank =
        order.length > 1 && t.value !== null ? order.indexOf(t.value) / (order.length - 1) : 0;
      const line = el('polyline', {
        points: points.join(' '),
        fill: 'none',
        stroke: ended ? 'var(--mltrain-fg3, #9e9e9e)' : rankColor(rank),
        'stroke-width': t === best ? 3 : 1.5,
        'stroke-dasharray': ended ? '4 3' : 'none',
        opacity: ended ? 0.7 : 0.9,
        'data-testid': 'mltrain-parcoords-line',
        'data-trial': t.trial,
        'data-status': t.status,
        'data-best': t === best ? '1' : '0'
      });
      const desc = names.map(n => `${n}=${fmtParam(t.params[n])}`).join(' ');
      line.append(
        el('title', {}, `#${t.trial} ${t.status}: ${desc} → ${sweep.metric} ${fmtValue(t.value)}`)
      );
      lines.append(line);
    }
    const axisGroup = el('g', { class: 'mltrain-pc-axes' });
    axes.forEach((a, i) => axisGroup.append(this._axis(a, xs[i], y, i === axes.length - 1)));
    svg.append(axisGroup, lines);
    this.root.replaceChildren(svg);
  }

  private _axis(a: IAxis, x: number, y: (f: number) => number, metric: boolean): SVGElement {
    const g = el('g', {
      'data-testid': 'mltrain-parcoords-axis',
      'data-name': a.name,
      'data-scale': a.kind
    });
    g.append(el('line', { x1: x, x2: x, y1: y(0), y2: y(1), class: 'mltrain-pc-axis' }));
    const title = a.kind === 'log' ? `${a.name} (log)` : a.name;
    g.append(
      el(
        'text',
        {
          x,
          y: 12,
          'text-anchor': 'middle',
          class: `mltrain-pc-name${metric ? ' mltrain-pc-metric' : ''}`
        },
        title
      )
    );
    const ticks: [number, string][] =
      a.kind === 'category'
        ? a.categories.map((c, i) => [
            a.categories.length === 1 ? 0.5 : i / (a.categories.length - 1),
            c
          ])
        : axisTicks(a).map(v => [scaleAxis(a, v) ?? 0, fmtValue(v)]);
    for (const [f, label] of ticks) {
      g.append(el('line', { x1: x - 3, x2: x + 3, y1: y(f), y2: y(f), class: 'mltrain-pc-axis' }));
      g.append(el('text', { x: x + 5, y: y(f) + 3, class: 'mltrain-pc-tick' }, label));
    }
    return g;
  }

  destroy(): void {
    this.resizer.disconnect();
    this.root.remove();
  }

  private sweep: ISweep | null = null;
  private width = 640;
  private resizer: ResizeObserver;
}

// One metric chart (uPlot) for the widget and the panel: labelled axes, log scale, drag to zoom
// (double-click resets), a crosshair synced with the other charts of its board, resizable, fullscreen.
import uPlot from 'uplot';
import { h } from '../dom';
import { fmtDuration, fmtTimeTick, fmtValue } from '../format';
import { seriesColor, withAlpha } from '../palette';
import { XAxis } from './transform';
import { ZoomState } from './zoom';

/** One drawn line: its label, colour number (a rank keeps its colour), values, style. */
export interface IChartLine {
  label: string;
  color: number;
  y: (number | null)[];
  dash?: number[];
  width?: number;
  /** 0–1: a faint line (the unsmoothed values under a smoothed one). */
  alpha?: number;
  /** The unsmoothed values under a smoothed line (not counted in data-series). */
  raw?: boolean;
}

/** What a chart draws: x, its lines, and an optional band between two of them (indices in `lines`). */
export interface IChartData {
  x: number[];
  lines: IChartLine[];
  band?: { upper: number; lower: number; fill: string };
  axis: XAxis;
  log: boolean;
  yLabel: string;
  /** The x axis's title, when not the axis's own ("step", "wall time"…): e.g. "trial". */
  xLabel?: string;
  /** Ticks on whole numbers of x only (trial numbers). */
  xWhole?: boolean;
  /** Values held for the metric (all ranks; tests read it as data-points). */
  points: number;
}

const X_LABELS: Record<XAxis, string> = {
  step: 'step',
  wall: 'wall time',
  relative: 'time since start'
};

/** Tick spacings of an axis of whole numbers. */
const WHOLE_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

function fmtWall(v: number): string {
  const d = new Date(v * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A chart cell: title row (name, last value, fullscreen), the plot, a resize handle. */
export class MetricChart {
  /**
   * `syncKey`: the crosshair and a drag's zoom go to every chart of the same key; `onReset`
   * (a double-click) is for the host to reset them all (else this chart alone is reset).
   */
  constructor(
    readonly name: string,
    private readonly syncKey: string,
    title: string = name,
    private readonly onReset: (() => void) | null = null
  ) {
    this.plot = h('div', { class: 'mltrain-chart-plot' });
    this.last = h('span', { class: 'mltrain-chart-last' });
    this.titleText = h('span', { class: 'mltrain-chart-name', title: name }, title);
    this.fullButton = h('button', {
      class: 'mltrain-chart-button',
      'data-testid': 'mltrain-chart-fullscreen',
      title: 'Fullscreen (Esc closes)',
      'aria-label': `Show ${name} fullscreen`,
      onclick: () => this.setFullscreen(!this.full)
    });
    // A static icon (no user text): four corners.
    this.fullButton.innerHTML =
      '<svg width="12" height="12" viewBox="0 0 12 12" fill="none" stroke="currentColor" ' +
      'stroke-width="1.5"><path d="M1 4V1h3M8 1h3v3M11 8v3H8M4 11H1V8"/></svg>';
    this.root = h(
      'div',
      {
        class: 'mltrain-chart',
        'data-testid': 'mltrain-chart',
        'data-metric': name,
        'data-points': 0,
        tabindex: -1
      },
      h('div', { class: 'mltrain-chart-title' }, this.titleText, this.last, this.fullButton),
      this.plot
    );
    this.root.addEventListener('keydown', e => {
      if (e.key === 'Escape' && this.full) this.setFullscreen(false);
    });
    this.plot.addEventListener('dblclick', () =>
      this.onReset ? this.onReset() : this.resetZoom()
    );
    this.resizer = new ResizeObserver(() => this._resize());
    this.resizer.observe(this.root);
  }

  readonly root: HTMLDivElement;
  readonly zoom = new ZoomState();

  /** The text after the title (the last value). */
  setLast(text: string): void {
    this.last.textContent = text;
  }

  setTitle(text: string): void {
    this.titleText.textContent = text;
    this.root.dataset.metric = text;
  }

  /** Draw `d` (rebuilding the plot only when its shape changed). */
  draw(d: IChartData): void {
    this.root.dataset.points = String(d.points);
    this.root.dataset.series = String(
      d.lines.filter(l => !l.raw && l.y.some(v => v !== null)).length
    );
    this.root.dataset.log = d.log ? '1' : '0';
    this.root.dataset.axis = d.axis;
    this.root.dataset.band = d.band ? '1' : '0';
    const data = [d.x, ...d.lines.map(l => l.y)] as uPlot.AlignedData;
    const sig = [
      d.axis,
      d.log,
      d.yLabel,
      d.xLabel,
      d.xWhole,
      !!d.band,
      ...d.lines.map(l => `${l.label}|${l.alpha}`)
    ].join('\u0000');
    this.data = d;
    if (this.u && sig === this.sig) {
      this.u.setData(data, !this.zoom.zoomed);
      if (this.zoom.zoomed) this._applyZoom();
    } else {
      this.u?.destroy();
      this.sig = sig;
      this.u = new uPlot(this._opts(d), data, this.plot);
      if (this.zoom.zoomed) this._applyZoom();
    }
    this.root.dataset.drawnPoints = String(d.points);
    this.root.dataset.drawnMetric = this.root.dataset.metric;
  }

  /** Show all of the data again. */
  resetZoom(): void {
    if (this.zoom.reset()) this._applyZoom();
  }

  /**
   * Fill the window with this chart, or put it back. It moves to the page's body meanwhile:
   * a containing block (a Lumino panel, an output area) would otherwise bound `position: fixed`.
   */
  setFullscreen(on: boolean): void {
    if (on === this.full) return;
    this.full = on;
    if (on && this.root.parentNode) {
      this.placeholder = document.createComment('mltrain chart');
      this.root.replaceWith(this.placeholder);
      document.body.append(this.root);
    } else if (!on && this.placeholder) {
      this.placeholder.replaceWith(this.root);
      this.placeholder = null;
    }
    this.root.classList.toggle('mltrain-chart-full', on);
    this.root.dataset.fullscreen = on ? '1' : '0';
    if (on) this.root.focus();
    this._resize();
  }

  /** Forget the theme's colours (the next draw rebuilds the plot). */
  invalidate(): void {
    this.sig = '';
  }

  destroy(): void {
    this.placeholder?.remove();
    this.resizer.disconnect();
    this.u?.destroy();
    this.u = null;
    this.root.remove();
  }

  private _applyZoom(): void {
    const u = this.u;
    if (!u) return;
    const r = this.zoom.range;
    if (r) u.setScale('x', { min: r[0], max: r[1] });
    else if (this.data)
      u.setData([this.data.x, ...this.data.lines.map(l => l.y)] as uPlot.AlignedData);
    this.root.dataset.zoomed = r ? '1' : '0';
    this.root.dataset.xMin = r ? String(r[0]) : '';
    this.root.dataset.xMax = r ? String(r[1]) : '';
  }

  private _size(): { width: number; height: number } {
    const width = Math.max(160, Math.floor(this.plot.clientWidth || this.root.clientWidth || 320));
    const title = 22;
    const legend = this.u?.root?.querySelector('.u-legend')?.clientHeight ?? 24;
    const height = Math.max(120, Math.floor((this.root.clientHeight || 240) - title - legend - 8));
    return { width, height };
  }

  private _resize(): void {
    if (!this.u || this.root.clientWidth === 0) return;
    const s = this._size();
    if (Math.abs(s.width - this.u.width) > 1 || Math.abs(s.height - this.u.height) > 1) {
      this.u.setSize(s);
    }
  }

  private _opts(d: IChartData): uPlot.Options {
    const fg = cssVar(this.root, '--jp-ui-font-color2', 'rgba(0,0,0,0.54)');
    const grid = cssVar(this.root, '--jp-border-color2', 'rgba(0,0,0,0.1)');
    const family = cssVar(this.root, '--jp-ui-font-family', 'system-ui, sans-serif');
    const axis = {
      stroke: fg,
      font: `10px ${family}`,
      labelFont: `11px ${family}`,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 }
    };
    const fmtX = (v: number): string =>
      d.axis === 'wall' ? fmtWall(v) : d.axis === 'relative' ? fmtDuration(v) : fmtValue(v);
    const value = (_u: uPlot, v: number | null): string => (v === null ? '–' : fmtValue(v));
    const series: uPlot.Series[] = [
      { label: d.xLabel ?? X_LABELS[d.axis], value: (_u, v) => (v === null ? '–' : fmtX(v)) },
      ...d.lines.map(l => ({
        label: l.label,
        stroke:
          l.alpha !== undefined ? withAlpha(seriesColor(l.color), l.alpha) : seriesColor(l.color),
        width: l.width ?? 1.5,
        dash: l.dash,
        spanGaps: true,
        points: { show: false },
        value
      }))
    ];
    const { width, height } = this._size();
    return {
      width,
      height,
      legend: { show: true, live: true },
      cursor: {
        sync: { key: this.syncKey, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        points: { size: 5 }
      },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false }, y: d.log ? { distr: 3 } : {} },
      bands: d.band
        ? [{ series: [d.band.upper + 1, d.band.lower + 1], fill: d.band.fill }]
        : undefined,
      axes: [
        {
          ...axis,
          size: 40,
          label: d.xLabel ?? X_LABELS[d.axis],
          labelSize: 14,
          incrs: d.xWhole ? WHOLE_INCRS : undefined,
          values: (_u, vals, _ax, _space, incr) =>
            vals.map(v =>
              v === null
                ? ''
                : d.axis === 'wall'
                  ? fmtWall(v)
                  : d.axis === 'relative'
                    ? fmtTimeTick(v, incr)
                    : fmtValue(v)
            )
        },
        {
          ...axis,
          size: 56,
          label: d.yLabel,
          labelSize: 14,
          values: (_u, vals) => vals.map(v => (v === null ? '' : fmtValue(v)))
        }
      ],
      hooks: {
        setSelect: [
          u => {
            if (u.select.width < 3) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (this.zoom.select(a, b)) this._applyZoom();
          }
        ],
        setCursor: [
          u => {
            const i = u.cursor.idx;
            this.root.dataset.cursorX = i === null || i === undefined ? '' : String(u.data[0][i]);
          }
        ]
      },
      series
    };
  }

  private u: uPlot | null = null;
  private sig = '';
  private full = false;
  private placeholder: Comment | null = null;
  private data: IChartData | null = null;
  private plot: HTMLDivElement;
  private last: HTMLSpanElement;
  private titleText: HTMLSpanElement;
  private fullButton: HTMLButtonElement;
  private resizer: ResizeObserver;
}

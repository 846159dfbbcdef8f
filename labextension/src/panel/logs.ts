// A rank's log as lines: text arrives in chunks cut anywhere after a line end or a
// carriage return; lines are kept as a terminal shows them. No DOM here.
import { collapseCR } from '../common/terminal';

export { collapseCR };

/**
 * The complete lines of one rank's log plus its unfinished last line (a progress
 * bar being redrawn). Appending is amortised O(text); memory is the shown text.
 */
export class LogLines {
  /** Complete lines, `\r`-collapsed, without their line end. */
  readonly lines: string[] = [];
  private _partial = '';

  /** The unfinished last line, as shown ('' when none). */
  get partial(): string {
    return collapseCR(this._partial);
  }

  /** Lines including a non-empty unfinished last one. */
  get length(): number {
    return this.lines.length + (this.partial !== '' ? 1 : 0);
  }

  /** Line i (the unfinished one last). */
  line(i: number): string {
    return i < this.lines.length ? this.lines[i] : this.partial;
  }

  /** Append a chunk of text; returns how many complete lines it added. */
  append(text: string): number {
    if (!text) return 0;
    const before = this.lines.length;
    let data = this._partial + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && data.charCodeAt(end - 1) === 13) end--; // "\r\n" ends a line, redraws nothing
      this.lines.push(collapseCR(data.slice(start, end)));
      start = nl + 1;
    }
    data = start ? data.slice(start) : data;
    // An endless progress bar must not grow: keep only its last redraw (and a trailing \r,
    // which says the next text overwrites it).
    if (data.indexOf('\r') >= 0) {
      const cr = data.endsWith('\r');
      data = collapseCR(data) + (cr ? '\r' : '');
    }
    this._partial = data;
    return this.lines.length - before;
  }

  clear(): void {
    this.lines.length = 0;
    this._partial = '';
  }
}

/** Where the visible window of a virtual list lies. */
export interface IWindow {
  /** First item rendered (inclusive). */
  start: number;
  /** Last item rendered (exclusive). */
  end: number;
  /** Pixel offset of the first rendered item inside the scrolled content. */
  top: number;
  /** Height of the scrolled content in pixels. */
  height: number;
}

/**
 * Browsers cap an element's height (Chrome ~33.5M px, Firefox ~17.9M px):
 * above this, scroll positions map to items proportionally instead of 1:1.
 */
export const MAX_SCROLL_HEIGHT = 8_000_000;

/** The content height a list of `count` items of `itemHeight` px scrolls over. */
export function contentHeight(count: number, itemHeight: number): number {
  return Math.min(count * itemHeight, MAX_SCROLL_HEIGHT);
}

/**
 * Which items to render for a scroll position: those in the viewport plus
 * `overscan` on each side. Exact below MAX_SCROLL_HEIGHT; above it the scroll
 * range is scaled so the first and the last item are both reachable.
 */
export function computeWindow(
  scrollTop: number,
  viewport: number,
  itemHeight: number,
  count: number,
  overscan = 10
): IWindow {
  const height = contentHeight(count, itemHeight);
  if (count <= 0 || itemHeight <= 0) return { start: 0, end: 0, top: 0, height: 0 };
  const visible = Math.max(1, Math.ceil(viewport / itemHeight));
  const maxScroll = Math.max(0, height - viewport);
  const st = Math.min(Math.max(0, scrollTop), maxScroll);
  let first: number;
  let top: number;
  if (count * itemHeight <= MAX_SCROLL_HEIGHT) {
    first = Math.floor(st / itemHeight);
    top = first * itemHeight;
  } else {
    // Scaled: the fraction scrolled picks the first visible item among those that can be first.
    const firstMax = Math.max(0, count - visible);
    const frac = maxScroll > 0 ? st / maxScroll : 0;
    first = Math.min(firstMax, Math.round(frac * firstMax));
    // The first visible item sits at the viewport's top; at the end the last one at its bottom.
    top = first === firstMax ? height - (count - first) * itemHeight : st;
  }
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  top -= (first - start) * itemHeight;
  return { start, end, top: Math.max(0, top), height };
}

/** The scrollTop that shows item `index` at the top of the viewport (the inverse of computeWindow). */
export function scrollTopFor(
  index: number,
  viewport: number,
  itemHeight: number,
  count: number
): number {
  const height = contentHeight(count, itemHeight);
  const maxScroll = Math.max(0, height - viewport);
  if (count * itemHeight <= MAX_SCROLL_HEIGHT) return Math.min(maxScroll, index * itemHeight);
  const visible = Math.max(1, Math.ceil(viewport / itemHeight));
  const firstMax = Math.max(0, count - visible);
  if (firstMax === 0) return 0;
  return Math.min(maxScroll, (Math.min(index, firstMax) / firstMax) * maxScroll);
}

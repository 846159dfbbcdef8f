// The x range a chart is zoomed to (drag to zoom, double-click to reset), kept across redraws.

/** A zoom: the x range shown, or null for all of the data. */
export class ZoomState {
  /** The x range shown, or null (everything). */
  get range(): [number, number] | null {
    return this._range;
  }

  get zoomed(): boolean {
    return this._range !== null;
  }

  /**
   * Zoom to the range between two x values (in any order). A selection narrower than
   * `minSpan` (a click, not a drag) or not finite changes nothing; returns whether it zoomed.
   */
  select(a: number, b: number, minSpan = 0): boolean {
    if (!isFinite(a) || !isFinite(b)) return false;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (hi - lo <= minSpan) return false;
    this._range = [lo, hi];
    return true;
  }

  /** Show everything again; returns whether it was zoomed. */
  reset(): boolean {
    const was = this._range !== null;
    this._range = null;
    return was;
  }

  /** Whether any of `xs` falls in the zoomed range (all of them when not zoomed). */
  covers(xs: readonly number[]): boolean {
    if (!this._range) return true;
    const [lo, hi] = this._range;
    return xs.some(x => x >= lo && x <= hi);
  }

  private _range: [number, number] | null = null;
}

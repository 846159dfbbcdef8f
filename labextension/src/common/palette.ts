// Line colours of charts: the same series number has the same colour everywhere.

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

/** A distinct line colour for series number i. */
export function seriesColor(i: number): string {
  return i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 60%, 50%)`;
}

/** `color` (a "#rrggbb" or "hsl(…)" colour of this palette) at opacity `alpha`. */
export function withAlpha(color: string, alpha: number): string {
  if (color.startsWith('hsl(')) return color.replace('hsl(', 'hsla(').replace(')', `, ${alpha})`);
  const n = parseInt(color.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** Opacity of a min–max band: a dark background needs more to show the same band. */
export const BAND_ALPHA = { light: 0.25, dark: 0.4 } as const;

/** The fill of the band between two lines of series number i (min–max over ranks). */
export function bandFill(i: number, dark = false): string {
  return withAlpha(seriesColor(i), dark ? BAND_ALPHA.dark : BAND_ALPHA.light);
}

/** A line of a min–max chart, as uPlot's series options take it. */
export interface IBandLine {
  label: 'min' | 'max' | 'mean';
  stroke: string;
  width: number;
}

/**
 * The lines and the band of a min–max chart in series colour i: min and max as thin
 * translucent edges, the mean on top, and the band filled between max and min. Indices in
 * `band.series` count uPlot's series, x first (so min is 1): `[upper, lower]`.
 * The edges' translucency is in their colour, not in uPlot's series `alpha`, which would
 * apply to the band's fill too and make it all but invisible.
 */
export function minMaxLines(
  i: number,
  dark = false
): { lines: IBandLine[]; band: { series: [number, number]; fill: string } } {
  const color = seriesColor(i);
  const edge = withAlpha(color, dark ? 0.8 : 0.6);
  return {
    lines: [
      { label: 'min', stroke: edge, width: 1 },
      { label: 'max', stroke: edge, width: 1 },
      { label: 'mean', stroke: color, width: 1.5 }
    ],
    band: { series: [2, 1], fill: bandFill(i, dark) }
  };
}

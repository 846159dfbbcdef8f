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

/** The fill of the band between two lines of series number i (min–max over ranks). */
export function bandFill(i: number): string {
  const c = seriesColor(i);
  if (!c.startsWith('#')) return c.replace('hsl(', 'hsla(').replace(')', ', 0.15)');
  const n = parseInt(c.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},0.15)`;
}

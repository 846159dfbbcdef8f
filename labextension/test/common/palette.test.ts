import { describe, expect, it } from 'vitest';
import { bandFill, minMaxLines, seriesColor, withAlpha } from '../../src/common/palette';

describe('series colours', () => {
  it('starts with the ten category colours', () => {
    expect(seriesColor(0)).toBe('#1f77b4');
    expect(seriesColor(9)).toBe('#17becf');
  });

  it('goes on with distinct hues', () => {
    const more = new Set(Array.from({ length: 20 }, (_, i) => seriesColor(10 + i)));
    expect(more.size).toBe(20);
    expect(seriesColor(10)).toMatch(/^hsl\(\d+, 60%, 50%\)$/);
  });

  it('fills a band in the colour of its series, translucent, stronger on a dark background', () => {
    expect(bandFill(0)).toBe('rgba(31,119,180,0.25)');
    expect(bandFill(0, true)).toBe('rgba(31,119,180,0.4)');
    expect(bandFill(12)).toMatch(/^hsla\(\d+, 60%, 50%, 0\.25\)$/);
    expect(withAlpha('#ff0000', 0.5)).toBe('rgba(255,0,0,0.5)');
  });
});

/** The opacity of an rgba() or hsla() colour (1 when it has none). */
function alphaOf(color: string): number {
  const m = /,\s*([\d.]+)\)$/.exec(color);
  return m && /^(rgba|hsla)/.test(color) ? Number(m[1]) : 1;
}

/** How far a colour at `alpha` over `bg` moves from `bg` (0..255, the largest channel change). */
function contrast(color: string, bg: [number, number, number]): number {
  const [r, g, b] = /rgba?\((\d+),(\d+),(\d+)/.exec(color)!.slice(1).map(Number);
  const a = alphaOf(color);
  return Math.max(...[r, g, b].map((c, k) => Math.abs(a * c + (1 - a) * bg[k] - bg[k])));
}

describe('min–max band', () => {
  for (const [theme, dark, bg] of [
    ['light', false, [255, 255, 255]],
    ['dark', true, [17, 17, 17]]
  ] as const) {
    it(`is drawn between the max and min lines, visibly, in the ${theme} theme`, () => {
      const { lines, band } = minMaxLines(0, dark);
      // uPlot's series index 0 is x: line k is series k + 1. The band goes from max down to min.
      const [upper, lower] = band.series;
      expect(lines[upper - 1]?.label).toBe('max');
      expect(lines[lower - 1]?.label).toBe('min');
      // No uPlot `alpha` on the edges: it would multiply into the band's fill.
      for (const l of lines) expect(l).not.toHaveProperty('alpha');
      // Filled enough to see: at least 30 levels away from the background on some channel.
      expect(contrast(band.fill, [...bg])).toBeGreaterThanOrEqual(30);
    });
  }
});

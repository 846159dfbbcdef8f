import { describe, expect, it } from 'vitest';
import { bandFill, seriesColor } from '../../src/common/palette';

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

  it('fills a band in the colour of its series, translucent', () => {
    expect(bandFill(0)).toBe('rgba(31,119,180,0.15)');
    expect(bandFill(12)).toMatch(/^hsla\(\d+, 60%, 50%, 0\.15\)$/);
  });
});

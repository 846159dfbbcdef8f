import { describe, expect, it } from 'vitest';
import {
  fmtBytes,
  fmtCount,
  fmtDateTime,
  fmtDuration,
  fmtParam,
  fmtStarted,
  fmtTimeTick,
  fmtValue
} from '../../src/common/format';

describe('durations', () => {
  it('shows tenths below 10 s, then seconds, minutes and hours', () => {
    expect(fmtDuration(0.42)).toBe('0.4s');
    expect(fmtDuration(12.7)).toBe('12s');
    expect(fmtDuration(65)).toBe('1m 05s');
    expect(fmtDuration(3725)).toBe('1h 02m');
    expect(fmtDuration(-3)).toBe('0.0s');
  });

  it('leaves out the tenths for a ticking clock', () => {
    expect(fmtDuration(4.6, true)).toBe('4s');
  });

  it('shows a dash for an unknown duration', () => {
    expect(fmtDuration(null)).toBe('–');
    expect(fmtDuration(undefined)).toBe('–');
    expect(fmtDuration(NaN)).toBe('–');
  });

  it('labels time-axis ticks with the decimals their spacing needs', () => {
    expect(fmtTimeTick(1.5, 0.5)).toBe('1.5s');
    expect(fmtTimeTick(30, 5)).toBe('30s');
    expect(fmtTimeTick(125, 5)).toBe('2m 05s');
  });
});

describe('values, sizes and counts', () => {
  it('keeps integers and rounds floats to 4 significant digits', () => {
    expect(fmtValue(42)).toBe('42');
    expect(fmtValue(0.123456)).toBe('0.1235');
    expect(fmtValue(1e-5)).toBe('1.000e-5');
    expect(fmtValue(2.5e7 + 0.5)).toBe('2.500e+7');
    expect(fmtValue(0)).toBe('0');
  });

  it('shows what is not a number as text, and a dash for nothing', () => {
    expect(fmtValue('high')).toBe('high');
    expect(fmtValue(NaN)).toBe('NaN');
    expect(fmtValue(null)).toBe('–');
  });

  it('formats sizes in binary units', () => {
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(1536)).toBe('1.50 KiB');
    expect(fmtBytes(50 * 1024 * 1024)).toBe('50.0 MiB');
    expect(fmtBytes(null)).toBe('–');
  });

  it('groups thousands', () => {
    expect(fmtCount(1234567)).toBe('1,234,567');
  });

  it('shows strings bare and other params as JSON', () => {
    expect(fmtParam('adam')).toBe('adam');
    expect(fmtParam(0.1)).toBe('0.1');
    expect(fmtParam([1, 2])).toBe('[1,2]');
    expect(fmtParam(undefined)).toBe('–');
  });
});

describe('dates', () => {
  const at = (y: number, mo: number, d: number, h: number, mi: number): number =>
    new Date(y, mo - 1, d, h, mi, 7).getTime() / 1000;
  const now = new Date(2026, 2, 4, 18, 0);

  it('shows the time today, the date and time this year, else the date', () => {
    expect(fmtStarted(at(2026, 3, 4, 14, 3), now)).toBe('14:03');
    expect(fmtStarted(at(2026, 1, 9, 8, 30), now)).toBe('Jan 9 08:30');
    expect(fmtStarted(at(2025, 12, 31, 23, 59), now)).toBe('2025-12-31');
    expect(fmtStarted(null, now)).toBe('–');
  });

  it('gives the full local date and time for tooltips', () => {
    expect(fmtDateTime(at(2026, 3, 4, 14, 3))).toBe('2026-03-04 14:03:07');
  });
});

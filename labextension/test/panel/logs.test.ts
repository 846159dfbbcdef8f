import { describe, expect, it } from 'vitest';
import {
  collapseCR,
  computeWindow,
  contentHeight,
  LogLines,
  MAX_SCROLL_HEIGHT,
  scrollTopFor
} from '../../src/panel/logs';

describe('carriage returns', () => {
  it('collapse to the last non-empty redraw', () => {
    expect(collapseCR('plain')).toBe('plain');
    expect(collapseCR('10%\r50%\r100%')).toBe('100%');
    expect(collapseCR('10%\r50%\r')).toBe('50%');
    expect(collapseCR('\r\r')).toBe('');
  });

  it('split lines on \\n and collapse each one', () => {
    const l = new LogLines();
    expect(l.append('epoch 1\r 10%\r 100%\nepoch 2\n')).toBe(2);
    expect(l.lines).toEqual([' 100%', 'epoch 2']);
    expect(l.partial).toBe('');
    expect(l.length).toBe(2);
  });

  it('keep an unfinished last line as the partial line, shown collapsed', () => {
    const l = new LogLines();
    l.append('done\nprogress 1/3\rprogress 2/3');
    expect(l.lines).toEqual(['done']);
    expect(l.partial).toBe('progress 2/3');
    expect(l.length).toBe(2);
    expect(l.line(1)).toBe('progress 2/3');
    l.append('\rprogress 3/3\n');
    expect(l.lines).toEqual(['done', 'progress 3/3']);
    expect(l.partial).toBe('');
  });

  it('join a line split across chunks, also between its \\r and \\n', () => {
    const l = new LogLines();
    l.append('hel');
    l.append('lo wor');
    l.append('ld\r');
    expect(l.partial).toBe('hello world');
    l.append('\n');
    expect(l.lines).toEqual(['hello world']);
    l.append('a\r\nb\r\n');
    expect(l.lines).toEqual(['hello world', 'a', 'b']);
  });

  it('keep text written after a \\r as the new redraw', () => {
    const l = new LogLines();
    l.append('abc\r');
    l.append('de');
    expect(l.partial).toBe('de');
    l.append('f\n');
    expect(l.lines).toEqual(['def']);
  });

  it('hold only the last redraw of an endless progress bar', () => {
    const l = new LogLines();
    for (let i = 0; i < 10000; i++) l.append(`\rstep ${i} ${'#'.repeat(50)}`);
    expect(l.partial.startsWith('step 9999')).toBe(true);
    expect((l as unknown as { _partial: string })._partial.length).toBeLessThan(100);
  });

  it('keep empty lines', () => {
    const l = new LogLines();
    l.append('a\n\n\nb\n');
    expect(l.lines).toEqual(['a', '', '', 'b']);
  });
});

describe('virtual list window', () => {
  const LH = 18;
  const VIEW = 600;
  const N = 1_000_000;
  const visible = Math.ceil(VIEW / LH);

  it('renders only the viewport plus overscan for a million lines', () => {
    for (const st of [0, 1234, 4_000_000, contentHeight(N, LH) - VIEW]) {
      const w = computeWindow(st, VIEW, LH, N, 20);
      expect(w.end - w.start).toBeLessThanOrEqual(visible + 40);
      expect(w.start).toBeGreaterThanOrEqual(0);
      expect(w.end).toBeLessThanOrEqual(N);
    }
  });

  it('keeps the scroll height under the browser limit', () => {
    const w = computeWindow(0, VIEW, LH, N);
    expect(N * LH).toBeGreaterThan(MAX_SCROLL_HEIGHT);
    expect(w.height).toBe(MAX_SCROLL_HEIGHT);
  });

  it('reaches the first and the last line of a million', () => {
    const top = computeWindow(0, VIEW, LH, N, 0);
    expect(top.start).toBe(0);
    expect(top.top).toBe(0);
    const maxScroll = contentHeight(N, LH) - VIEW;
    const bottom = computeWindow(maxScroll, VIEW, LH, N, 0);
    expect(bottom.end).toBe(N);
    // The last line's bottom is the content's bottom: nothing is cut off or left blank.
    expect(bottom.top + (bottom.end - bottom.start) * LH).toBe(contentHeight(N, LH));
    expect(bottom.top).toBeLessThanOrEqual(maxScroll);
  });

  it('moves monotonically through the list as the scroll position grows', () => {
    let prev = -1;
    const maxScroll = contentHeight(N, LH) - VIEW;
    for (let i = 0; i <= 100; i++) {
      const w = computeWindow((maxScroll * i) / 100, VIEW, LH, N, 0);
      expect(w.start).toBeGreaterThanOrEqual(prev);
      prev = w.start;
    }
    const mid = computeWindow(maxScroll / 2, VIEW, LH, N, 0);
    expect(Math.abs(mid.start - (N - visible) / 2)).toBeLessThan(2);
  });

  it('maps a line to a scroll position and back (scaled and exact)', () => {
    for (const [n, idx] of [
      [N, 0],
      [N, 777_777],
      [N, N - visible],
      [1000, 500],
      [1000, 0]
    ]) {
      const st = scrollTopFor(idx, VIEW, LH, n);
      const w = computeWindow(st, VIEW, LH, n, 0);
      expect(Math.abs(w.start - idx)).toBeLessThanOrEqual(1);
    }
  });

  it('is exact for a short log', () => {
    const w = computeWindow(18 * 100 + 5, VIEW, LH, 1000, 10);
    expect(w.start).toBe(90);
    expect(w.top).toBe(90 * LH);
    expect(w.end).toBe(100 + visible + 10);
    expect(w.height).toBe(1000 * LH);
  });

  it('handles an empty list and a list shorter than the viewport', () => {
    expect(computeWindow(0, VIEW, LH, 0)).toEqual({ start: 0, end: 0, top: 0, height: 0 });
    const w = computeWindow(500, VIEW, LH, 5);
    expect(w).toEqual({ start: 0, end: 5, top: 0, height: 5 * LH });
  });

  it('holds a million appended lines and computes windows fast', () => {
    const l = new LogLines();
    const chunk = Array.from({ length: 1000 }, (_, i) => `line ${i} loss=0.${i}`).join('\n') + '\n';
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) l.append(chunk);
    expect(l.lines.length).toBe(N);
    const t1 = performance.now();
    for (let i = 0; i < 10000; i++) computeWindow(i * 700, VIEW, LH, N);
    const t2 = performance.now();
    expect(t1 - t0).toBeLessThan(5000);
    expect(t2 - t1).toBeLessThan(200);
  });
});

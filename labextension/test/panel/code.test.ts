import { describe, expect, it } from 'vitest';
import {
  diffManifests,
  filterPackages,
  highlightPython,
  lineDiff,
  maskEnv,
  orderFiles
} from '../../src/panel/code';

describe('orderFiles', () => {
  it('puts the entry script first, then the paths in order', () => {
    const m = { 'b.py': [1, 'x'], 'main.py': [1, 'y'], 'a/c.py': [1, 'z'] } as Record<
      string,
      [number, string]
    >;
    expect(orderFiles(m, 'main.py')).toEqual(['main.py', 'a/c.py', 'b.py']);
    expect(orderFiles(m, null)).toEqual(['a/c.py', 'b.py', 'main.py']);
  });
});

describe('diffManifests', () => {
  it('tells added, removed, changed and unchanged files apart by content hash', () => {
    const a = { 'main.py': [1, 'h1'], 'old.py': [1, 'h2'], 'same.py': [1, 'h3'] } as Record<
      string,
      [number, string]
    >;
    const b = { 'main.py': [2, 'h9'], 'new.py': [1, 'h4'], 'same.py': [1, 'h3'] } as Record<
      string,
      [number, string]
    >;
    expect(diffManifests(a, b)).toEqual([
      { path: 'main.py', change: 'changed' },
      { path: 'new.py', change: 'added' },
      { path: 'old.py', change: 'removed' },
      { path: 'same.py', change: 'same' }
    ]);
  });
});

describe('lineDiff', () => {
  it('keeps common lines and marks removed and added ones in order', () => {
    const d = lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne')!;
    expect(d.map(l => `${l.op}${l.text}`)).toEqual([' a', '-b', '+B', ' c', ' d', '+e']);
  });

  it('is all kept lines for the same text, and null for a huge file', () => {
    expect(lineDiff('x\ny', 'x\ny')!.every(l => l.op === ' ')).toBe(true);
    expect(lineDiff('x\n'.repeat(5000), 'y')).toBeNull();
  });
});

describe('highlightPython', () => {
  it('marks keywords, strings, numbers and comments', () => {
    expect(highlightPython('def f(x=1):  # hi')).toBe(
      '<span class="mltrain-hl-keyword">def</span> f(x=<span class="mltrain-hl-number">1</span>):  ' +
        '<span class="mltrain-hl-comment"># hi</span>'
    );
    expect(highlightPython("s = 'a#b'")).toBe(
      's = <span class="mltrain-hl-string">&#x27;a#b&#x27;</span>'
    );
  });

  it('escapes everything it does not mark', () => {
    const html = highlightPython('x = "<img src=x onerror=alert(1)>" < y & z');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img');
    expect(html).toContain(' &lt; y &amp; z');
  });
});

describe('maskEnv', () => {
  it('masks secret-looking names, keeps the rest, sorted', () => {
    expect(maskEnv({ PLAIN: 'shown', API_TOKEN: 'abc', db_password: 'x', HF_AUTH: 'y' })).toEqual([
      ['API_TOKEN', '<secret>'],
      ['db_password', '<secret>'],
      ['HF_AUTH', '<secret>'],
      ['PLAIN', 'shown']
    ]);
  });
});

describe('filterPackages', () => {
  it('matches every word against name and version', () => {
    const p = { torch: '2.5.0', torchvision: '0.20', numpy: '2.1.0' };
    expect(filterPackages(p, 'torch')).toEqual([
      ['torch', '2.5.0'],
      ['torchvision', '0.20']
    ]);
    expect(filterPackages(p, 'torch 2.5')).toEqual([['torch', '2.5.0']]);
    expect(filterPackages(p, '').length).toBe(3);
  });
});

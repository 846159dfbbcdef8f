import { describe, expect, it } from 'vitest';
import {
  diffManifests,
  filterPackages,
  highlightPython,
  lineDiff,
  lineSpans,
  maskEnv,
  orderFiles,
  planEnv,
  spanAt
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

describe('the line map of main.py', () => {
  const origin = {
    kind: 'cell',
    line_map: [
      {
        start: 30,
        end: 31,
        cell: 'cell [7]',
        execution_count: 7,
        cell_line: 2,
        what: 'the %%train cell'
      },
      {
        start: 12,
        end: 14,
        cell: 'cell [3]',
        execution_count: 3,
        cell_line: 5,
        what: 'function helper'
      },
      { start: 0, end: 2, cell: 'bad' },
      { start: 20, end: 18 },
      'junk'
    ]
  };

  it('reads the valid spans of an origin by start line, and none where there is no map', () => {
    const spans = lineSpans(origin);
    expect(spans.map(s => [s.start, s.end, s.cell, s.executionCount, s.cellLine, s.what])).toEqual([
      [12, 14, 'cell [3]', 3, 5, 'function helper'],
      [30, 31, 'cell [7]', 7, 2, 'the %%train cell']
    ]);
    expect(lineSpans({ kind: 'file' })).toEqual([]);
    expect(lineSpans(null)).toEqual([]);
    expect(lineSpans({ line_map: [{ start: 1, end: 1, execution_count: 4 }] })[0].cell).toBe(
      'cell [4]'
    );
  });

  it('finds the span of a line, inclusive at both ends', () => {
    const spans = lineSpans(origin);
    expect([11, 12, 14, 15, 30, 31, 32].map(l => spanAt(spans, l))).toEqual([
      -1, 0, 0, -1, 1, 1, -1
    ]);
  });
});

describe("the plan's variables", () => {
  it('lists the variables of every rank and of each rank, secrets masked, in name order', () => {
    const env = planEnv({
      env: { WORLD_SIZE: '2', API_TOKEN: '<secret>', HF_TOKEN: 'leaked?', PLAIN: 'x' },
      rank_env: [
        { RANK: '0', LOCAL_RANK: '0' },
        { RANK: '1', LOCAL_RANK: '1' }
      ]
    })!;
    expect(env.shared).toEqual([
      ['API_TOKEN', '<secret>'],
      ['HF_TOKEN', '<secret>'],
      ['PLAIN', 'x'],
      ['WORLD_SIZE', '2']
    ]);
    expect(env.ranks[1]).toEqual([
      ['LOCAL_RANK', '1'],
      ['RANK', '1']
    ]);
  });

  it('is null for a plan without variables (or no plan)', () => {
    expect(planEnv({ launcher: 'local' })).toBeNull();
    expect(planEnv(null)).toBeNull();
    expect(planEnv({ env: {} })).toEqual({ shared: [], ranks: [] });
  });
});

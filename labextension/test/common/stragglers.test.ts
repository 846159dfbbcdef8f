// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { splitStragglers, stragglerBadge, stragglerText } from '../../src/common/stragglers';

const OPEN = { rank: 1, host: 'gpu2', ratio: 1.84, since: 100, until: null };
const DONE = { rank: 0, host: 'gpu1', ratio: 1.5, since: 10, until: 70 };

describe('splitStragglers', () => {
  it('splits open episodes from cleared ones, newest first, skipping bad entries', () => {
    const { active, cleared } = splitStragglers([DONE, OPEN, { host: 'x' }, 'bad', null]);
    expect(active.map(s => s.rank)).toEqual([1]);
    expect(cleared.map(s => s.rank)).toEqual([0]);
    expect(splitStragglers(undefined)).toEqual({ active: [], cleared: [] });
  });

  it('ends an open episode with the run', () => {
    const { active, cleared } = splitStragglers([OPEN], 160);
    expect(active).toEqual([]);
    expect(cleared[0].until).toBe(160);
  });
});

describe('stragglerText', () => {
  it('names the rank, host, ratio and, once cleared, how long', () => {
    expect(stragglerText({ ...OPEN })).toBe('rank 1 on gpu2, 1.8× slower');
    expect(stragglerText({ ...DONE })).toBe('rank 0 on gpu1, 1.5× slower for 1m 00s');
  });
});

describe('stragglerBadge', () => {
  it('warns of active stragglers and keeps the cleared ones in its tooltip', () => {
    const badge = stragglerBadge([OPEN, DONE])!;
    expect(badge.dataset.active).toBe('1');
    expect(badge.dataset.cleared).toBe('1');
    expect(badge.textContent).toBe('⚠ straggler: rank 1');
    expect(badge.title).toContain('cleared: rank 0 on gpu1');
    expect(badge.classList.contains('mltrain-straggler-active')).toBe(true);
  });

  it('shows history only after the run, and nothing without episodes', () => {
    const badge = stragglerBadge([OPEN], 200)!;
    expect(badge.textContent).toBe('1 straggler episode (cleared)');
    expect(stragglerBadge([])).toBeNull();
  });

  it('escapes a host name (text, not HTML)', () => {
    const badge = stragglerBadge([{ ...OPEN, host: '<img src=x onerror=alert(1)>' }])!;
    expect(badge.querySelector('img')).toBeNull();
    expect(badge.title).toContain('<img');
  });
});

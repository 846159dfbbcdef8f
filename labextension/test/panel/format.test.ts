import { describe, expect, it } from 'vitest';
import { runTitle, shortId } from '../../src/panel/format';

describe('run identity', () => {
  it('tells same-named runs apart by the last 6 characters of their id', () => {
    expect(shortId('20260101-120000-a1b2c3')).toBe('a1b2c3');
    expect(shortId('abc')).toBe('abc');
    const a = runTitle({ id: '20260101-120000-a1b2c3', name: 'mnist' });
    const b = runTitle({ id: '20260101-120500-ffee00', name: 'mnist' });
    expect(a).toBe('mnist · a1b2c3');
    expect(a).not.toBe(b);
  });
});

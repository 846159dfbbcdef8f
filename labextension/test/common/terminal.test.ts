import { describe, expect, it } from 'vitest';
import { collapseCR, collapseRedraws } from '../../src/common/terminal';

describe('text as a terminal shows it', () => {
  it('keeps the last redraw of a line', () => {
    expect(collapseCR('10%\r50%\r100%')).toBe('100%');
    expect(collapseCR('10%\r50%\r')).toBe('50%');
  });

  it('shows a progress bar of a stderr tail in its last state only', () => {
    const tail =
      'loading\n' +
      ' 10%|#         | 1/10\r 50%|#####     | 5/10\r100%|##########| 10/10\n' +
      'Traceback (most recent call last):\r\n' +
      'ValueError: bad shape\n\n';
    expect(collapseRedraws(tail)).toBe(
      'loading\n100%|##########| 10/10\nTraceback (most recent call last):\nValueError: bad shape'
    );
  });

  it('leaves text without carriage returns as it is', () => {
    expect(collapseRedraws('a\n  b\n')).toBe('a\n  b');
    expect(collapseRedraws('')).toBe('');
  });
});

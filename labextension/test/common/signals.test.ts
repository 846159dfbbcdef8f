import { describe, expect, it } from 'vitest';
import { signalName } from '../../src/common/signals';

describe('signal names', () => {
  it('names the usual signals with their number', () => {
    expect(signalName(9)).toBe('SIGKILL (9)');
    expect(signalName(15)).toBe('SIGTERM (15)');
    expect(signalName(11)).toBe('SIGSEGV (11)');
  });

  it('gives the number of a signal without a name here', () => {
    expect(signalName(42)).toBe('signal 42');
  });
});

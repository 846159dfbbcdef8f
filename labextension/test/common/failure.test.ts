import { describe, expect, it } from 'vitest';
import { failureText, rankRows } from '../../src/common/failure';

describe('per-rank status rows', () => {
  it('say how each rank ended: ok, exit code, signal name, never reported', () => {
    const rows = rankRows([0, 1, -11, null], 1);
    expect(rows.map(r => [r.rank, r.state, r.status, r.detail, r.rootCause])).toEqual([
      [0, 'ok', 'ok', '0', false],
      [1, 'failed', 'exited', 'exit code 1', true],
      [2, 'killed', 'killed', 'SIGSEGV (11)', false],
      [3, 'unknown', 'never reported', '–', false]
    ]);
  });

  it('mark the other ranks killed by SIGTERM or SIGKILL as stopped by the supervisor', () => {
    const rows = rankRows([-15, 1, -9, -15], 1);
    expect(rows.map(r => r.status)).toEqual([
      'stopped by the supervisor',
      'exited',
      'stopped by the supervisor',
      'stopped by the supervisor'
    ]);
    expect(rows[0].detail).toBe('SIGTERM (15)');
    expect(rows[2].detail).toBe('SIGKILL (9)');
  });

  it('do not excuse the root-cause rank when it was the one killed', () => {
    const [r0, r1] = rankRows([-9, -15], 0);
    expect([r0.state, r0.status, r0.rootCause]).toEqual(['killed', 'killed', true]);
    expect(r1.state).toBe('stopped');
  });

  it('are empty without a list', () => {
    expect(rankRows(undefined, 0)).toEqual([]);
    expect(rankRows(null)).toEqual([]);
  });
});

describe('failure text', () => {
  it('puts the exception first and does not repeat it in the message', () => {
    const t = failureText({
      message: 'rank 1 (worker) on host exited with code 1: ValueError: bad shape',
      error: 'ValueError: bad shape',
      stderr_tail: 'epoch 1\r 50%\r100%\nValueError: bad shape\n'
    });
    expect(t.error).toBe('ValueError: bad shape');
    expect(t.message).toBe('rank 1 (worker) on host exited with code 1');
    expect(t.stderr).toBe('100%\nValueError: bad shape');
  });

  it('keeps the message of a record without an exception', () => {
    expect(failureText({ message: 'rank 0 (worker) on h was killed by SIGKILL (9)' })).toEqual({
      error: '',
      message: 'rank 0 (worker) on h was killed by SIGKILL (9)',
      stderr: ''
    });
    expect(failureText(null)).toEqual({ error: '', message: '', stderr: '' });
  });
});

import { describe, expect, it } from 'vitest';
import {
  attemptMark,
  attemptNumber,
  attemptSummaries,
  stageStatus,
  statusLabel
} from '../../src/common/attempts';
import { fmtDateTime } from '../../src/common/format';

describe('the status with its attempt', () => {
  it('names the attempt only after a restart', () => {
    expect(statusLabel('Running', 2)).toBe('Running (attempt 2)');
    expect(statusLabel('Completed', 3)).toBe('Completed (attempt 3)');
    expect(statusLabel('Running', 1)).toBe('Running');
    expect(statusLabel('Running', undefined)).toBe('Running');
    expect(statusLabel('Running', null)).toBe('Running');
    expect(statusLabel('Running', '2')).toBe('Running');
  });

  it('tells the status of an attempt stage', () => {
    expect(stageStatus('Running (attempt 2)')).toBe('Running');
    expect(stageStatus('Queued')).toBe('Queued');
  });

  it('has a compact mark for list rows', () => {
    expect(attemptMark(2)).toBe('·2');
    expect(attemptMark(1)).toBe('');
    expect(attemptMark(undefined)).toBe('');
    expect(attemptNumber(2.5)).toBe(1);
  });
});

describe('earlier attempts', () => {
  it('say each attempt, when it ended and its cause (the exception first)', () => {
    const ended = 1700000000;
    const rows = attemptSummaries([
      {
        attempt: 1,
        started: ended - 10,
        ended,
        root_cause: {
          message: 'rank 0 exited with code 3: ValueError: bad',
          rank: 0,
          error: 'ValueError: bad'
        },
        exit_codes: [3]
      },
      { attempt: 2, ended: null, root_cause: { message: 'rank 1 exited with code 3', rank: 1 } }
    ]);
    expect(rows.map(r => [r.attempt, r.error, r.message])).toEqual([
      [1, 'ValueError: bad', 'rank 0 exited with code 3'],
      [2, '', 'rank 1 exited with code 3']
    ]);
    expect(rows[0].ended).toBe(fmtDateTime(ended));
    expect(rows[0].line).toBe(
      `Attempt 1 ended ${fmtDateTime(ended)}: ValueError: bad — rank 0 exited with code 3`
    );
    expect(rows[1].line).toBe('Attempt 2 ended –: rank 1 exited with code 3');
  });

  it('survive records of any shape', () => {
    expect(attemptSummaries(undefined)).toEqual([]);
    expect(attemptSummaries({})).toEqual([]);
    const [row] = attemptSummaries([null, 'x', {}]);
    expect(row.line).toBe('Attempt 1 ended –');
  });
});

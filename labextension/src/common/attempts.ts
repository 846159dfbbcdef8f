// A restarted run (`--max-restarts`): its status with the attempt, and what each earlier
// attempt ended with. The same in the widget and the panel.
import { h } from './dom';
import { failureText } from './failure';
import { fmtDateTime } from './format';

/** The attempt number from a record's `attempt` (1 when missing or not a positive integer). */
export function attemptNumber(attempt: unknown): number {
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 1 ? attempt : 1;
}

/** "Running (attempt 2)", or the bare status on the first attempt. */
export function statusLabel(status: string, attempt: unknown): string {
  const n = attemptNumber(attempt);
  return n > 1 ? `${status} (attempt ${n})` : status;
}

/** The status a timeline stage stands for: "Running (attempt 2)" → "Running". */
export function stageStatus(stage: string): string {
  return stage.replace(/ \(attempt \d+\)$/, '');
}

/** The compact mark of a later attempt for a list row: "·2" ('' on the first attempt). */
export function attemptMark(attempt: unknown): string {
  const n = attemptNumber(attempt);
  return n > 1 ? `·${n}` : '';
}

/** One earlier attempt of a run, as shown. */
export interface IAttemptSummary {
  /** Its number (1, 2…). */
  attempt: number;
  /** When it ended, e.g. "2025-03-04 14:03:07" ('–' when unknown). */
  ended: string;
  /** The exception it ended with ('' when none). */
  error: string;
  /** Where and how it ended ('' when none). */
  message: string;
  /** One line: "Attempt 1 ended 2025-03-04 14:03:07: ValueError: bad — rank 0 exited with code 1". */
  line: string;
}

/** The earlier attempts from a record's `attempts` (any shape), oldest first. */
export function attemptSummaries(attempts: unknown): IAttemptSummary[] {
  if (!Array.isArray(attempts)) return [];
  return attempts
    .filter((a): a is Record<string, unknown> => !!a && typeof a === 'object' && !Array.isArray(a))
    .map((a, i): IAttemptSummary => {
      const attempt =
        typeof a.attempt === 'number' && Number.isInteger(a.attempt) ? a.attempt : i + 1;
      const ended = fmtDateTime(typeof a.ended === 'number' ? a.ended : null);
      const { error, message } = failureText(a.root_cause);
      const cause = [error, message].filter(Boolean).join(' — ');
      const line = `Attempt ${attempt} ended ${ended}${cause ? `: ${cause}` : ''}`;
      return { attempt, ended, error, message, line };
    });
}

/** The earlier attempts of a restarted run: number, when it ended, its root cause. */
export function attemptList(attempts: IAttemptSummary[]): HTMLElement {
  return h(
    'ol',
    { class: 'mltrain-attempts', 'data-testid': 'mltrain-attempts' },
    ...attempts.map(a =>
      h(
        'li',
        { 'data-attempt': a.attempt, title: a.line },
        `Attempt ${a.attempt}, ended ${a.ended}`,
        ...(a.error ? [': ', h('span', { class: 'mltrain-attempt-error' }, a.error)] : []),
        a.message ? `${a.error ? ' — ' : ': '}${a.message}` : ''
      )
    )
  );
}

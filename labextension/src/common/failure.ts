// What a failed run shows first, the same in the widget and the panel's run view: the
// exception, then where and how the first rank ended, then how every rank ended.
import { collapseRedraws } from './terminal';
import { signalName } from './signals';

/** Signals the supervisor sends when it stops the other ranks of a failed or canceled run. */
export const SUPERVISOR_SIGNALS: ReadonlySet<number> = new Set([15, 9]);

/** How one rank ended. */
export type RankState = 'ok' | 'failed' | 'killed' | 'stopped' | 'unknown';

/** One row of the per-rank status table. */
export interface IRankRow {
  rank: number;
  state: RankState;
  /** "ok", "exited", "killed", "stopped by the supervisor", "never reported". */
  status: string;
  /** "0", "exit code 1", "SIGKILL (9)", "–". */
  detail: string;
  /** The rank the root cause names (it failed first). */
  rootCause: boolean;
}

/**
 * The per-rank table from a record's `exit_codes` (one entry per rank: 0 ok, positive an
 * exit code, negative killed by that signal, null never reported). A rank other than the
 * root cause's that was killed by SIGTERM or SIGKILL was stopped by the supervisor.
 */
export function rankRows(exitCodes: unknown, rootCauseRank?: unknown): IRankRow[] {
  if (!Array.isArray(exitCodes)) return [];
  const failedRank =
    typeof rootCauseRank === 'number' && Number.isInteger(rootCauseRank) ? rootCauseRank : null;
  return exitCodes.map((code, rank): IRankRow => {
    const rootCause = rank === failedRank;
    if (typeof code !== 'number' || !Number.isFinite(code)) {
      return { rank, state: 'unknown', status: 'never reported', detail: '–', rootCause };
    }
    if (code === 0) return { rank, state: 'ok', status: 'ok', detail: '0', rootCause };
    if (code > 0) {
      return { rank, state: 'failed', status: 'exited', detail: `exit code ${code}`, rootCause };
    }
    const signal = -code;
    const stopped = !rootCause && SUPERVISOR_SIGNALS.has(signal);
    return {
      rank,
      state: stopped ? 'stopped' : 'killed',
      status: stopped ? 'stopped by the supervisor' : 'killed',
      detail: signalName(signal),
      rootCause
    };
  });
}

/** The part of a root cause shown first. */
export interface IFailureText {
  /** The exception, e.g. `ValueError: bad shape` ('' when the record has none). */
  error: string;
  /** Where and how the first rank ended, without the exception repeated at its end. */
  message: string;
  /** The stderr tail as a terminal shows it ('' when none). */
  stderr: string;
}

/** The exception, the message and the stderr tail of a root-cause record (any shape). */
export function failureText(rootCause: unknown): IFailureText {
  const rc =
    rootCause && typeof rootCause === 'object' ? (rootCause as Record<string, unknown>) : {};
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const error = str(rc.error).trim();
  let message = str(rc.message).trim();
  // The server appends the exception to the message ("… exited with code 1: ValueError: …");
  // it is the headline here, so it is not said twice.
  if (error && message.endsWith(`: ${error}`)) message = message.slice(0, -error.length - 2);
  else if (error && message === error) message = '';
  return { error, message, stderr: collapseRedraws(str(rc.stderr_tail)) };
}

// The lifecycle of a run. The one list of statuses on this side: it must equal the
// Python enum `jupyter_mltrain.engine.store.Status` (tests/unit/test_statuses_shared.py checks).

/** Every status of a run, in lifecycle order. */
export const STATUSES = [
  'Queued',
  'Preparing',
  'Running',
  'Finalizing',
  'Completed',
  'Failed',
  'Canceled',
  'Pruned',
  'Lost'
] as const;

/** A run's status. */
export type RunStatus = (typeof STATUSES)[number];

/** Statuses after which a run never changes again, in lifecycle order. */
export const FINAL = ['Completed', 'Failed', 'Canceled', 'Pruned', 'Lost'] as const;

/** The same, as a set. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set<string>(FINAL);

/** The pre-final stages, in the order a run goes through them. */
export const STAGES: readonly string[] = STATUSES.filter(s => !FINAL_STATUSES.has(s));

/** True when a run in this status will never change again. */
export function isFinal(status: unknown): boolean {
  return typeof status === 'string' && FINAL_STATUSES.has(status);
}

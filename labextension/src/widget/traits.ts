// The traits the Python side (jupyter_mltrain/widget/model.py) syncs, and readers that
// survive a value that is missing, null or of the wrong type (a notebook saved by an older version).

/** The anywidget model, as far as the widget uses it. */
export interface IModel {
  get(name: string): unknown;
  on(event: string, cb: (...args: unknown[]) => void): void;
  off?(event: string, cb: (...args: unknown[]) => void): void;
  send(msg: unknown): void;
}

/** The traits the view draws from (`history` is read apart: it is large). */
export const TRAITS = [
  'run_id',
  'run_name',
  'experiment',
  'target',
  'mode',
  'ranks',
  'status',
  'stages',
  'created',
  'ended',
  'clock',
  'progress',
  'last_metrics',
  'root_cause',
  'exit_codes',
  'outputs',
  'log_paths',
  'files_url',
  'cancel_pending',
  'attempt',
  'attempts',
  'registered',
  'stragglers',
  'tags',
  'note',
  'sweep'
] as const;

/** A trait's name. */
export type TraitName = (typeof TRAITS)[number];

/** The traits' values as read from the model. */
export type Traits = Partial<Record<TraitName, unknown>>;

/** A plain object from a trait value that may be missing, null or of the wrong type. */
export function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A number from a trait value, or null. */
export function num(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

/** A non-empty string from a trait value, or ''. */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

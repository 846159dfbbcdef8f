// A sweep as the server and the widget send it (`Sweep.record()` plus space and curves), and the pure
// functions its views draw from: the best trial, sorting, best-so-far, parallel-coordinates axes, overlay.
import { alignSeries, ISeries } from '../series';

/** One trial: its number, run, params, status (Pruned for a pruned one), last value and step, duration (s). */
export interface ITrial {
  trial: number;
  run: string;
  params: Record<string, unknown>;
  status: string;
  value: number | null;
  step: number | null;
  duration: number | null;
}

/** One dimension of the search space: `loguniform(1e-4, 0.1)` is `{kind: 'loguniform', args: [1e-4, 0.1]}`. */
export interface IDimension {
  kind: string;
  args: unknown[];
}

/** A sweep: its record, space and (optionally) the primary metric's curve of each trial run. */
export interface ISweep {
  id: string;
  name: string;
  parent: string;
  status: string;
  metric: string;
  goal: 'min' | 'max';
  budget: number;
  trials: ITrial[];
  space: Record<string, IDimension>;
  /** run id → [steps, values]. */
  curves: Record<string, [number[], number[]]>;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.map(x => (typeof x === 'number' ? x : NaN)) : [];
}

/** A sweep from a trait or a reply that may be empty, partial or of an older shape; null when it is none. */
export function toSweep(v: unknown): ISweep | null {
  if (!isObj(v) || typeof v.id !== 'string' || !v.id) return null;
  const trials: ITrial[] = (Array.isArray(v.trials) ? v.trials : []).filter(isObj).map(t => ({
    trial: numOrNull(t.trial) ?? -1,
    run: typeof t.run === 'string' ? t.run : '',
    params: isObj(t.params) ? t.params : {},
    status: typeof t.status === 'string' ? t.status : '',
    value: numOrNull(t.value),
    step: numOrNull(t.step),
    duration: numOrNull(t.duration)
  }));
  const space: Record<string, IDimension> = {};
  if (isObj(v.space)) {
    for (const [k, d] of Object.entries(v.space)) {
      if (isObj(d)) space[k] = { kind: String(d.kind), args: Array.isArray(d.args) ? d.args : [] };
    }
  }
  const curves: Record<string, [number[], number[]]> = {};
  if (isObj(v.curves)) {
    for (const [run, c] of Object.entries(v.curves)) {
      if (Array.isArray(c) && c.length === 2) curves[run] = [numbers(c[0]), numbers(c[1])];
    }
  }
  return {
    id: v.id,
    name: typeof v.name === 'string' ? v.name : v.id,
    parent: typeof v.parent === 'string' ? v.parent : '',
    status: typeof v.status === 'string' ? v.status : '',
    metric: typeof v.metric === 'string' ? v.metric : 'value',
    goal: v.goal === 'max' ? 'max' : 'min',
    budget: numOrNull(v.budget) ?? trials.length,
    trials,
    space,
    curves
  };
}

/** Whether `a` is better than `b` under the goal. */
export function better(a: number, b: number, goal: 'min' | 'max'): boolean {
  return goal === 'min' ? a < b : a > b;
}

/** The best trial: among Completed ones with a value (a Failed or Pruned trial is never best); null if none. */
export function bestTrial(trials: readonly ITrial[], goal: 'min' | 'max'): ITrial | null {
  let best: ITrial | null = null;
  for (const t of trials) {
    if (t.status !== 'Completed' || t.value === null) continue;
    if (best === null || better(t.value, best.value!, goal)) best = t;
  }
  return best;
}

/** A column of the trials table: 'trial', 'status', 'value', 'step', 'duration' or 'param:NAME'. */
export type SortKey = string;

function sortValue(t: ITrial, key: SortKey): unknown {
  if (key.startsWith('param:')) return t.params[key.slice(6)];
  return (t as unknown as Record<string, unknown>)[key];
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1; // numbers before text
  if (typeof b === 'number') return 1;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** The trials sorted by `key` (`dir` 1 ascending, -1 descending); missing values last either way, ties by number. */
export function sortTrials(trials: readonly ITrial[], key: SortKey, dir: 1 | -1): ITrial[] {
  return [...trials].sort((x, y) => {
    const a = sortValue(x, key);
    const b = sortValue(y, key);
    const missA = a === null || a === undefined;
    const missB = b === null || b === undefined;
    if (missA || missB) return missA && missB ? x.trial - y.trial : missA ? 1 : -1;
    return dir * compareValues(a, b) || x.trial - y.trial;
  });
}

/** By trial number: each Completed trial's value, and the best value so far (null before the first). */
export function bestSoFar(
  trials: readonly ITrial[],
  goal: 'min' | 'max'
): { x: number[]; value: (number | null)[]; best: (number | null)[] } {
  const sorted = [...trials].filter(t => t.trial >= 0).sort((a, b) => a.trial - b.trial);
  const x: number[] = [];
  const value: (number | null)[] = [];
  const best: (number | null)[] = [];
  let current: number | null = null;
  for (const t of sorted) {
    const v = t.status === 'Completed' ? t.value : null;
    if (v !== null && (current === null || better(v, current, goal))) current = v;
    x.push(t.trial);
    value.push(v);
    best.push(current);
  }
  return { x, value, best };
}

/** The parameter names, in the space's order, then any other a trial has. */
export function paramNames(sweep: Pick<ISweep, 'space' | 'trials'>): string[] {
  const names = Object.keys(sweep.space);
  for (const t of sweep.trials)
    for (const k of Object.keys(t.params)) if (!names.includes(k)) names.push(k);
  return names;
}

/** One vertical axis of the parallel coordinates: numbers (linear or log) or categories in order. */
export interface IAxis {
  name: string;
  kind: 'linear' | 'log' | 'category';
  min: number;
  max: number;
  /** The categories, in order (kind 'category'). */
  categories: string[];
}

function key(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The axis of a parameter: a choice is categorical (its values in the space's order), loguniform is
 * logarithmic, other numbers linear over the space's range widened to the values seen.
 */
export function paramAxis(
  name: string,
  dim: IDimension | undefined,
  values: readonly unknown[]
): IAxis {
  const nums = values.filter((v): v is number => typeof v === 'number' && isFinite(v));
  const bounds = dim && dim.kind !== 'choice' ? numbers(dim.args.slice(0, 2)).filter(isFinite) : [];
  const categorical = dim
    ? dim.kind === 'choice'
    : nums.length < values.filter(v => v != null).length;
  if (categorical) {
    const categories = (dim?.args ?? []).map(key);
    for (const v of values)
      if (v !== undefined && !categories.includes(key(v))) categories.push(key(v));
    return { name, kind: 'category', min: 0, max: Math.max(0, categories.length - 1), categories };
  }
  const all = [...bounds, ...nums];
  const log = dim?.kind === 'loguniform' && all.every(v => v > 0);
  const min = all.length ? Math.min(...all) : 0;
  const max = all.length ? Math.max(...all) : 1;
  return { name, kind: log ? 'log' : 'linear', min, max, categories: [] };
}

/** A linear axis over the values seen (the metric's axis). */
export function valueAxis(name: string, values: readonly (number | null)[]): IAxis {
  return paramAxis(
    name,
    undefined,
    values.filter((v): v is number => v !== null)
  );
}

/** Where `v` lies on `axis`, from 0 (its min, bottom) to 1 (its max, top); null when it is not on it. */
export function scaleAxis(axis: IAxis, v: unknown): number | null {
  if (axis.kind === 'category') {
    if (v === undefined || v === null) return null;
    const i = axis.categories.indexOf(key(v));
    if (i < 0) return null;
    return axis.categories.length === 1 ? 0.5 : i / (axis.categories.length - 1);
  }
  if (typeof v !== 'number' || !isFinite(v)) return null;
  if (axis.kind === 'log') {
    if (v <= 0) return null;
    const lo = Math.log(axis.min);
    const hi = Math.log(axis.max);
    return hi === lo ? 0.5 : (Math.log(v) - lo) / (hi - lo);
  }
  return axis.max === axis.min ? 0.5 : (v - axis.min) / (axis.max - axis.min);
}

/** A few tick values of a numeric axis: its ends, and the powers of ten between them on a log axis. */
export function axisTicks(axis: IAxis): number[] {
  if (axis.kind === 'category') return [];
  if (axis.kind === 'linear') return axis.min === axis.max ? [axis.min] : [axis.min, axis.max];
  const ticks = [axis.min];
  for (let p = Math.ceil(Math.log10(axis.min)); 10 ** p < axis.max; p++) {
    if (10 ** p > axis.min) ticks.push(10 ** p);
  }
  ticks.push(axis.max);
  return ticks;
}

/** The trials' curves on one x (the union of their steps), a line per trial with a curve, by trial number. */
export function overlay(sweep: Pick<ISweep, 'trials' | 'curves'>): {
  x: number[];
  lines: { trial: ITrial; y: (number | null)[] }[];
} {
  const withCurve = [...sweep.trials]
    .filter(t => sweep.curves[t.run] && sweep.curves[t.run][0].length)
    .sort((a, b) => a.trial - b.trial);
  const series: ISeries[] = withCurve.map(t => {
    const [x, y] = sweep.curves[t.run];
    return { x, y };
  });
  if (!series.length) return { x: [], lines: [] };
  const [x, ...ys] = alignSeries(series);
  return { x, lines: withCurve.map((trial, i) => ({ trial, y: ys[i] })) };
}

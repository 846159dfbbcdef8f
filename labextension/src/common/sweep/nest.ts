// Where each run of a run list goes when sweeps are nested: a sweep's trials under its driver run
// (the newest driver listed, after a resume), shown only while that driver is expanded.

/** What a run is to a sweep: its driver, or its trial number N. */
export interface ISweepMark {
  id: string;
  role: 'driver' | 'trial';
  trial: number | null;
}

/** A listed run: at the top level (depth 0) or nested under its sweep's driver (depth 1). */
export interface IPlaced<T> {
  run: T;
  depth: 0 | 1;
  /** For a driver: how many trials are nested under it (shown or not). */
  trials: number;
  mark: ISweepMark | null;
}

/**
 * The runs in list order with each sweep's trials taken out of the top level and put right after the
 * driver (by trial number) when `expanded(sweepId)`; trials whose driver is not listed stay where they are.
 */
export function nestSweeps<T extends { id: string }>(
  runs: readonly T[],
  markOf: (run: T) => ISweepMark | null,
  expanded: (sweepId: string) => boolean
): IPlaced<T>[] {
  const driverOf = new Map<string, string>(); // sweep id → the first (newest) driver listed
  const marks = new Map<string, ISweepMark | null>();
  for (const r of runs) {
    const m = markOf(r);
    marks.set(r.id, m);
    if (m?.role === 'driver' && !driverOf.has(m.id)) driverOf.set(m.id, r.id);
  }
  const children = new Map<string, T[]>();
  for (const r of runs) {
    const m = marks.get(r.id);
    if (m?.role === 'trial' && driverOf.has(m.id)) {
      const list = children.get(m.id) ?? [];
      list.push(r);
      children.set(m.id, list);
    }
  }
  const out: IPlaced<T>[] = [];
  for (const r of runs) {
    const m = marks.get(r.id) ?? null;
    if (m?.role === 'trial' && driverOf.has(m.id)) continue;
    const isDriver = m?.role === 'driver' && driverOf.get(m.id) === r.id;
    const kids = isDriver ? (children.get(m!.id) ?? []) : [];
    out.push({ run: r, depth: 0, trials: kids.length, mark: m });
    if (isDriver && expanded(m!.id)) {
      const trial = (x: T): number => marks.get(x.id)?.trial ?? 0;
      for (const k of [...kids].sort((a, b) => trial(a) - trial(b))) {
        out.push({ run: k, depth: 1, trials: 0, mark: marks.get(k.id) ?? null });
      }
    }
  }
  return out;
}

// Pure functions over run records: the panel's filter and grouping, the run view's
// stage timeline and root-cause headline. No DOM here.
import { stageStatus } from '../common/attempts';
import { signalName } from '../common/signals';
import { isFinal, STAGES } from '../common/statuses';
import { IRunRecord } from './api';

/**
 * Whether a run matches the filter text: every word must match; `key:value`
 * words match that field (status, target, experiment, name, id, mode), plain
 * words match name, id, experiment, target or status.
 */
export function matchesFilter(run: IRunRecord, filter: string): boolean {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  for (const w of words) {
    const colon = w.indexOf(':');
    if (colon > 0) {
      const key = w.slice(0, colon);
      const val = w.slice(colon + 1);
      if (key === 'tag') {
        if (!(run.tags ?? []).some(t => t.toLowerCase().includes(val))) return false;
        continue;
      }
      const field = (run as unknown as Record<string, unknown>)[key];
      if (field !== undefined && field !== null) {
        if (!String(field).toLowerCase().includes(val)) return false;
        continue;
      }
    }
    const labels = `${(run.tags ?? []).join(' ')} ${run.note ?? ''}`;
    const hay =
      `${run.name} ${run.id} ${run.experiment} ${run.target} ${run.status} ${labels}`.toLowerCase();
    if (!hay.includes(w)) return false;
  }
  return true;
}

/** Runs grouped by experiment: groups ordered by their newest run, runs newest first. */
export function groupByExperiment(runs: readonly IRunRecord[]): [string, IRunRecord[]][] {
  const groups = new Map<string, IRunRecord[]>();
  for (const r of runs) {
    const key = r.experiment || 'default';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  for (const g of groups.values()) g.sort((a, b) => b.created - a.created);
  return [...groups.entries()].sort((a, b) => b[1][0].created - a[1][0].created);
}

/** The stage timeline of a record: each stage reached, when, and for how long. */
export function timeline(
  run: IRunRecord,
  now: number = Date.now() / 1000
): { stage: string; start: number; duration: number | null; current: boolean }[] {
  const stages = run.stages ?? {};
  // A restarted run also has "Running (attempt 2)" (and a requeued one "Queued (attempt 2)").
  const reached = Object.keys(stages)
    .filter(s => typeof stages[s] === 'number' && STAGES.includes(stageStatus(s)))
    .sort(
      (a, b) =>
        stages[a] - stages[b] || STAGES.indexOf(stageStatus(a)) - STAGES.indexOf(stageStatus(b))
    );
  const final = isFinal(run.status);
  const out = reached.map((stage, i) => {
    const start = stages[stage];
    const nextStage = reached[i + 1];
    const end =
      nextStage !== undefined
        ? stages[nextStage]
        : final
          ? (run.ended ?? stages[run.status] ?? null)
          : now;
    return {
      stage,
      start,
      duration: end === null ? null : Math.max(0, end - start),
      current: !final && i === reached.length - 1
    };
  });
  if (final) {
    out.push({
      stage: run.status,
      start: run.ended ?? stages[run.status] ?? now,
      duration: null,
      current: true
    });
  }
  return out;
}

/** "Rank 1 on gpu2 exited with code 1" / "... was killed by SIGKILL (9)". */
export function rootCauseHeadline(rc: NonNullable<IRunRecord['root_cause']>): string {
  const who =
    rc.rank !== null && rc.rank !== undefined
      ? `Rank ${rc.rank}${rc.host ? ` on ${rc.host}` : ''}`
      : rc.host
        ? `A process on ${rc.host}`
        : '';
  if (!who) return '';
  if (rc.signal !== null && rc.signal !== undefined)
    return `${who} was killed by ${signalName(rc.signal)}`;
  if (rc.exit_code !== null && rc.exit_code !== undefined)
    return `${who} exited with code ${rc.exit_code}`;
  return `${who} failed`;
}

/** Tags from what was typed: split on commas or new lines, trimmed, empty and repeated ones dropped. */
export function parseTags(text: string): string[] {
  const out: string[] = [];
  for (const t of text.split(/[,\n]/)) {
    const tag = t.trim();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

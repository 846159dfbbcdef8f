// Ranks that fell behind the others (a run record's `stragglers`): active ones as a warning
// badge, cleared ones as history. The same for the widget header and the panel's run view.
import { h } from './dom';
import { fmtDateTime, fmtDuration } from './format';

/** One straggler episode: `until` is null while it lasts. */
export interface IStraggler {
  rank: number;
  host: string;
  ratio: number;
  since: number;
  until: number | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

/**
 * The record's episodes split into active and cleared (newest first); bad entries are skipped.
 * `ended`: when the run ended (an episode still open then ended with it).
 */
export function splitStragglers(
  value: unknown,
  ended: number | null = null
): { active: IStraggler[]; cleared: IStraggler[] } {
  const list: IStraggler[] = [];
  for (const raw of Array.isArray(value) ? value : []) {
    if (!raw || typeof raw !== 'object') continue;
    const r = raw as Record<string, unknown>;
    const rank = num(r.rank);
    if (rank === null) continue;
    list.push({
      rank,
      host: typeof r.host === 'string' ? r.host : '',
      ratio: num(r.ratio) ?? 0,
      since: num(r.since) ?? 0,
      until: num(r.until) ?? ended
    });
  }
  list.sort((a, b) => b.since - a.since);
  return {
    active: list.filter(s => s.until === null),
    cleared: list.filter(s => s.until !== null)
  };
}

/** `rank 3 on gpu2, 1.8× slower` (and for how long, when it has cleared). */
export function stragglerText(s: IStraggler): string {
  const where = s.host ? ` on ${s.host}` : '';
  const ratio = s.ratio > 0 ? `, ${s.ratio.toFixed(1)}× slower` : '';
  const span = s.until !== null ? ` for ${fmtDuration(s.until - s.since)}` : '';
  return `rank ${s.rank}${where}${ratio}${span}`;
}

/** The warning badge of the active stragglers (null when none), with every episode in its tooltip. */
export function stragglerBadge(value: unknown, ended: number | null = null): HTMLElement | null {
  const { active, cleared } = splitStragglers(value, ended);
  if (!active.length && !cleared.length) return null;
  const lines = [
    ...active.map(s => `⚠ ${stragglerText(s)} since ${fmtDateTime(s.since)}`),
    ...cleared.map(s => `cleared: ${stragglerText(s)} at ${fmtDateTime(s.until)}`)
  ];
  return h(
    'span',
    {
      class: `mltrain-straggler-badge${active.length ? ' mltrain-straggler-active' : ''}`,
      'data-testid': 'mltrain-stragglers',
      'data-active': active.length,
      'data-cleared': cleared.length,
      title: lines.join('\n')
    },
    active.length
      ? `⚠ straggler${active.length === 1 ? '' : 's'}: ${active.map(s => `rank ${s.rank}`).join(', ')}`
      : `${cleared.length} straggler episode${cleared.length === 1 ? '' : 's'} (cleared)`
  );
}

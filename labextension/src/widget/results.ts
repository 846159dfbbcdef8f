// The root cause of a failed run, and the files a finished run produced.
import { ansiBlockToHtml } from '../common/ansi';
import { attemptList, attemptSummaries } from '../common/attempts';
import { h } from '../common/dom';
import { failureText, rankRows } from '../common/failure';
import { fmtBytes } from '../common/format';
import { signalName } from '../common/signals';
import { isFinal } from '../common/statuses';
import { sectionHead } from './section';
import { num, obj } from './traits';

/** Output files listed at most. */
const MAX_OUTPUTS = 200;

function ansiPre(cls: string, text: unknown): HTMLPreElement {
  const pre = h('pre', { class: cls });
  pre.innerHTML = ansiBlockToHtml(String(text).replace(/\n+$/, ''));
  return pre;
}

/** Scroll `el` to its end now and whenever it is shown again (a closed <details> has no height). */
function scrollToEnd(el: HTMLElement, details?: HTMLDetailsElement): void {
  const go = (): void => {
    el.scrollTop = el.scrollHeight;
  };
  go();
  requestAnimationFrame(go);
  details?.addEventListener('toggle', () => {
    if (details.open) go();
  });
}

/** The per-rank table of how each rank ended (from the record's `exit_codes`). */
export function rankTable(exitCodes: unknown, rootCauseRank: unknown): HTMLTableElement | null {
  const rows = rankRows(exitCodes, rootCauseRank);
  if (rows.length === 0) return null;
  return h(
    'table',
    { class: 'mltrain-rank-table', 'data-testid': 'mltrain-rank-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, 'rank'),
        h('th', null, 'status'),
        h('th', null, 'exit code / signal')
      )
    ),
    h(
      'tbody',
      null,
      ...rows.map(r =>
        h(
          'tr',
          {
            class: `mltrain-rank-${r.state}${r.rootCause ? ' mltrain-rank-root' : ''}`,
            'data-rank': r.rank,
            'data-state': r.state,
            title: r.rootCause ? 'the rank that failed first' : null
          },
          h('td', null, String(r.rank)),
          h('td', null, r.status),
          h('td', null, r.detail)
        )
      )
    )
  );
}

/**
 * Fill the box naming why a run failed: shown for Failed / Lost with a root cause. The
 * exception comes first, then where and how the first rank ended, the traceback, every
 * rank's exit, and the stderr tail (its redraws collapsed, scrolled to the end).
 */
export function renderRootCause(
  box: HTMLElement,
  status: unknown,
  rootCause: unknown,
  exitCodes?: unknown
): void {
  if (!(status === 'Failed' || status === 'Lost') || !rootCause || typeof rootCause !== 'object') {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const rc = obj(rootCause);
  const text = failureText(rc);
  box.hidden = false;
  const facts: HTMLElement[] = [];
  const fact = (label: string, value: string): void => {
    facts.push(h('span', { class: 'mltrain-rc-fact' }, `${label} `, h('b', null, value)));
  };
  const signal = num(rc.signal);
  if (num(rc.rank) !== null) fact('rank', String(rc.rank));
  if (rc.host) fact('host', String(rc.host));
  if (num(rc.exit_code) !== null) fact('exit code', String(rc.exit_code));
  if (signal !== null) fact('signal', signalName(signal));
  const kind = h(
    'span',
    { class: 'mltrain-rc-kind' },
    status === 'Lost' ? 'Run lost' : 'Run failed'
  );
  const children: HTMLElement[] = [];
  if (text.error) {
    children.push(
      h(
        'div',
        { class: 'mltrain-rc-title' },
        kind,
        ' ',
        h('span', { class: 'mltrain-rc-error', 'data-testid': 'mltrain-rc-error' }, text.error)
      )
    );
    if (text.message) children.push(h('div', { class: 'mltrain-rc-message' }, text.message));
  } else {
    children.push(
      h(
        'div',
        { class: 'mltrain-rc-title' },
        kind,
        ' ',
        h('span', { class: 'mltrain-rc-message' }, text.message || 'no message')
      )
    );
  }
  if (facts.length) children.push(h('div', { class: 'mltrain-rc-facts' }, ...facts));
  if (rc.traceback) children.push(ansiPre('mltrain-rc-traceback', rc.traceback));
  const table = rankTable(exitCodes, rc.rank);
  if (table) children.push(table);
  let stderr: [HTMLPreElement, HTMLDetailsElement] | null = null;
  if (text.stderr) {
    const pre = ansiPre('mltrain-rc-stderr', text.stderr);
    pre.dataset.testid = 'mltrain-rc-stderr';
    const details = h(
      'details',
      { class: 'mltrain-rc-details', open: !rc.traceback },
      h('summary', null, 'stderr (last lines)'),
      pre
    );
    children.push(details);
    stderr = [pre, details];
  }
  box.replaceChildren(...children);
  if (stderr) scrollToEnd(...stderr);
}

/** Fill the list of a restarted run's earlier attempts and their causes (hidden when none). */
export function renderAttempts(box: HTMLElement, attempts: unknown): void {
  const list = attemptSummaries(attempts);
  box.hidden = list.length === 0;
  box.replaceChildren(
    ...(list.length
      ? [
          sectionHead(
            list.length === 1 ? 'Earlier attempt' : 'Earlier attempts',
            'mltrain-section-head'
          ),
          attemptList(list)
        ]
      : [])
  );
}

/** Fill the list of output files, once the run is final. */
export function renderOutputs(box: HTMLElement, status: unknown, outputs: unknown): void {
  const list = (Array.isArray(outputs) ? outputs : []).map(o => obj(o)).filter(o => o.path);
  if (!isFinal(status) || list.length === 0) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  const total = list.reduce((a, o) => a + (num(o.size) ?? 0), 0);
  const items = list
    .slice(0, MAX_OUTPUTS)
    .map(o =>
      h(
        'li',
        { class: 'mltrain-output' },
        h('code', { class: 'mltrain-path', title: String(o.path) }, String(o.path)),
        h('span', { class: 'mltrain-output-size' }, fmtBytes(num(o.size)))
      )
    );
  if (list.length > MAX_OUTPUTS) {
    items.push(
      h('li', { class: 'mltrain-output mltrain-dim' }, `… and ${list.length - MAX_OUTPUTS} more`)
    );
  }
  box.replaceChildren(
    sectionHead(
      'Outputs',
      'mltrain-section-head',
      h(
        'span',
        { class: 'mltrain-dim' },
        `${list.length} file${list.length === 1 ? '' : 's'}, ${fmtBytes(total)}`
      )
    ),
    h('ul', { class: 'mltrain-outputs', 'data-testid': 'mltrain-outputs' }, ...items)
  );
}

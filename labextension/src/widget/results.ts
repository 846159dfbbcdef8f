// The root cause of a failed run, and the files a finished run produced.
import { ansiBlockToHtml } from '../common/ansi';
import { h } from '../common/dom';
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

/** Fill the box naming why a run failed: shown for Failed / Lost with a root cause. */
export function renderRootCause(box: HTMLElement, status: unknown, rootCause: unknown): void {
  if (!(status === 'Failed' || status === 'Lost') || !rootCause || typeof rootCause !== 'object') {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const rc = obj(rootCause);
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
  const children: HTMLElement[] = [
    h(
      'div',
      { class: 'mltrain-rc-title' },
      h('span', { class: 'mltrain-rc-kind' }, status === 'Lost' ? 'Run lost' : 'Run failed'),
      ' ',
      h('span', { class: 'mltrain-rc-message' }, rc.message ? String(rc.message) : 'no message')
    )
  ];
  if (facts.length) children.push(h('div', { class: 'mltrain-rc-facts' }, ...facts));
  if (rc.traceback) children.push(ansiPre('mltrain-rc-traceback', rc.traceback));
  if (rc.stderr_tail) {
    children.push(
      h(
        'details',
        { class: 'mltrain-rc-details', open: !rc.traceback },
        h('summary', null, 'stderr (last lines)'),
        ansiPre('mltrain-rc-stderr', rc.stderr_tail)
      )
    );
  }
  box.replaceChildren(...children);
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

// The run tab's "Details": parameters, summary metrics, exit codes, CLI commands and the spec.
import { Widget } from '@lumino/widgets';
import { attemptList, attemptSummaries } from '../common/attempts';
import { h } from '../common/dom';
import { fmtParam, fmtValue } from '../common/format';
import { IRunRecord } from './api';
import { rankTable } from './runheader';

/** Params, exit codes and the full spec. */
export class DetailsView extends Widget {
  constructor() {
    super();
    this.addClass('mltrain-details');
  }

  /** Draw the run's details (nothing while it is not loaded). */
  render(run: IRunRecord | null, spec: Record<string, unknown> | null): void {
    if (!run) return;
    const params = Object.entries(run.params ?? {});
    const metrics = Object.entries(run.metrics ?? {});
    const specPre = h('pre', { class: 'mltrain-spec' });
    specPre.textContent = spec ? JSON.stringify(spec, null, 2) : '';
    const attempts = attemptSummaries(run.attempts);
    this.node.replaceChildren(
      ...(attempts.length ? [h('h3', null, 'Earlier attempts'), attemptList(attempts)] : []),
      h('h3', null, 'Parameters'),
      params.length
        ? h(
            'table',
            { class: 'mltrain-table', 'data-testid': 'mltrain-params' },
            h(
              'tbody',
              null,
              ...params.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, fmtParam(v))))
            )
          )
        : h('div', { class: 'mltrain-empty' }, 'No parameters.'),
      h('h3', null, 'Metrics'),
      metrics.length
        ? h(
            'table',
            { class: 'mltrain-table' },
            h(
              'thead',
              null,
              h('tr', null, ...['metric', 'last', 'min', 'max', 'count'].map(t => h('th', null, t)))
            ),
            h(
              'tbody',
              null,
              ...metrics.map(([k, m]) =>
                h(
                  'tr',
                  null,
                  h('th', null, k),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.last)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.min)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.max)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.count))
                )
              )
            )
          )
        : h('div', { class: 'mltrain-empty' }, 'No metrics.'),
      h('h3', null, 'Ranks'),
      rankTable(run) ?? h('div', { class: 'mltrain-empty' }, 'Not yet.'),
      h('h3', null, 'From a terminal'),
      h(
        'pre',
        { class: 'mltrain-spec' },
        `mltrain show ${run.id}\nmltrain logs ${run.id} --rank 0\nmltrain outputs ${run.id} DEST`
      ),
      h('h3', null, 'Spec'),
      specPre
    );
  }
}

// A run's tags and note (set by people, PATCH runs/{id}): shown under the run's header, edited in a dialog.
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { IRunRecord, MLTrainAPI } from './api';
import { parseTags } from './records';

/** The row of a run's tags and note, with its Edit button. */
export function labelsRow(run: IRunRecord, edit: () => void): HTMLElement {
  const tags = run.tags ?? [];
  return h(
    'div',
    { class: 'mltrain-run-labels', 'data-testid': 'mltrain-run-labels' },
    ...tags.map(t => h('span', { class: 'mltrain-badge', 'data-testid': 'mltrain-run-tag' }, t)),
    run.note
      ? h('span', { class: 'mltrain-run-note', 'data-testid': 'mltrain-run-note' }, run.note)
      : null,
    h(
      'button',
      {
        class: 'mltrain-button mltrain-link-button',
        'data-testid': 'mltrain-edit-labels',
        title: 'Edit the run’s tags and note',
        onclick: edit
      },
      tags.length || run.note ? 'Edit tags & note' : '+ tags & note'
    )
  );
}

/** Ask for the run's tags and note, save them; the record after (null when canceled or failed). */
export async function editLabels(api: MLTrainAPI, run: IRunRecord): Promise<IRunRecord | null> {
  const tags = h('input', {
    class: 'mltrain-input',
    'data-testid': 'mltrain-tags-input',
    placeholder: 'baseline, lr-sweep',
    'aria-label': 'Tags, separated by commas'
  });
  tags.value = (run.tags ?? []).join(', ');
  const note = h('textarea', {
    class: 'mltrain-input mltrain-note-input',
    'data-testid': 'mltrain-note-input',
    rows: 4,
    'aria-label': 'Note'
  });
  note.value = run.note ?? '';
  const body = new Widget({
    node: h(
      'div',
      { class: 'mltrain-labels-form' },
      h('label', null, 'Tags (comma separated)', tags),
      h('label', null, 'Note', note)
    )
  });
  const answer = await showDialog({
    title: `Tags and note of ${run.name}`,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })],
    focusNodeSelector: 'input'
  });
  if (!answer.button.accept) return null;
  try {
    return (await api.patchRun(run.id, { tags: parseTags(tags.value), note: note.value })).run;
  } catch (err) {
    Notification.error(`Saving the tags of ${run.name} failed: ${(err as Error).message}`);
    return null;
  }
}

// The run tab's "Outputs": the files of a run (outputs and logs), each downloadable.
import { Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { fmtBytes } from '../common/format';
import { IRunFile, MLTrainAPI } from './api';
import { saveBlob } from './download';

/** The outputs and log files of a run, each downloadable. */
export class OutputsView extends Widget {
  /** The files of run `runId`. */
  constructor(
    private readonly api: MLTrainAPI,
    private readonly runId: string
  ) {
    super();
    this.addClass('mltrain-outputs');
    this.node.dataset.testid = 'mltrain-outputs';
  }

  /** Reload the list of files. */
  async refresh(): Promise<void> {
    this.node.replaceChildren(h('div', { class: 'mltrain-empty' }, 'Loading files…'));
    let files: IRunFile[];
    try {
      files = await this.api.files(this.runId);
    } catch (err) {
      this.node.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
      return;
    }
    const refresh = h(
      'button',
      { class: 'mltrain-button', onclick: () => void this.refresh() },
      'Refresh'
    );
    if (!files.length) {
      this.node.replaceChildren(
        h('div', { class: 'mltrain-toolbar' }, refresh),
        h(
          'div',
          { class: 'mltrain-empty' },
          'No files yet. Whatever rank 0 writes to jupyter_mltrain.outputs_dir() is kept here.'
        )
      );
      return;
    }
    const total = files.reduce((n, f) => n + (f.size ?? 0), 0);
    const rows = [...files]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map(f =>
        h(
          'tr',
          { 'data-testid': 'mltrain-file', 'data-path': f.path },
          h('td', { class: 'mltrain-file-path' }, f.path),
          h('td', { class: 'mltrain-num' }, fmtBytes(f.size)),
          h(
            'td',
            null,
            h(
              'button',
              {
                class: 'mltrain-button',
                title: `Download ${f.path}`,
                onclick: () => void this.download(f.path)
              },
              'Download'
            )
          )
        )
      );
    this.node.replaceChildren(
      h(
        'div',
        { class: 'mltrain-toolbar' },
        h('span', null, `${files.length} files, ${fmtBytes(total)}`),
        refresh
      ),
      h(
        'table',
        { class: 'mltrain-table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', null, 'path'), h('th', null, 'size'), h('th', null, ''))
        ),
        h('tbody', null, ...rows)
      )
    );
  }

  /** Download one of the run's files (a path under the run folder). */
  async download(path: string): Promise<void> {
    try {
      const blob = await this.api.download(this.runId, path);
      saveBlob(blob, path.split('/').pop() || 'download');
    } catch (err) {
      Notification.error(`Download of ${path} failed: ${(err as Error).message}`);
    }
  }
}

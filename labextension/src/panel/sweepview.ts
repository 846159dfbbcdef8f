// A sweep's tab in the main area: the shared sweep views (src/common/sweep) over `GET sweeps/{id}?curves=1`,
// read again every 2 s while the sweep runs; "Cancel sweep" is `DELETE sweeps/{id}`.
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { isFinal } from '../common/statuses';
import { toSweep } from '../common/sweep/model';
import { SweepView } from '../common/sweep/view';
import { MLTrainAPI } from './api';
import { cancelSweep, getSweep } from './sweepapi';

/** How often a running sweep is read again. */
const REFRESH_MS = 2000;

/** One sweep, live while it runs. */
export class SweepPanel extends Widget {
  constructor(
    private readonly api: MLTrainAPI,
    readonly sweepId: string,
    private readonly openRun: (id: string) => void
  ) {
    super();
    this.addClass('mltrain-sweepview');
    this.id = `mltrain-sweep-view-${sweepId}`;
    this.title.label = `Sweep ${sweepId}`;
    this.view = new SweepView({ onCancel: () => void this._cancel(), onOpenRun: openRun });
    this.error = h('div', { class: 'mltrain-error', hidden: true });
    this.driver = h(
      'button',
      {
        class: 'mltrain-button',
        'data-testid': 'mltrain-sweep-driver',
        title: "The sweep's driver run: its log says which trial started, ended or was pruned",
        onclick: () => this.parent_ && this.openRun(this.parent_)
      },
      'Driver run'
    );
    this.node.append(
      h('div', { class: 'mltrain-sweep-tools' }, h('code', null, sweepId), ' ', this.driver),
      this.error,
      this.view.root
    );
    void this.refresh();
  }

  /** Read the sweep now and draw it; again later while it runs. */
  async refresh(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    let live = true;
    try {
      const record = await getSweep(this.api, this.sweepId, true);
      if (this.isDisposed) return;
      const sweep = toSweep(record);
      this.error.hidden = true;
      this.view.update(record);
      if (sweep) {
        this.parent_ = sweep.parent;
        this.title.label = `Sweep ${sweep.name}`;
        live = !isFinal(sweep.status);
      }
    } catch (err) {
      if (this.isDisposed) return;
      this.error.hidden = false;
      this.error.textContent = (err as Error).message;
    }
    if (live) this.timer = setTimeout(() => void this.refresh(), REFRESH_MS);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.view.destroy();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh(); // the parallel coordinates take the width they have now
  }

  private async _cancel(): Promise<void> {
    const answer = await showDialog({
      title: 'Cancel sweep?',
      body: `Stop sweep ${this.sweepId}: no new trials start, and every running trial is canceled.`,
      buttons: [
        Dialog.cancelButton({ label: 'Keep running' }),
        Dialog.warnButton({ label: 'Cancel sweep' })
      ]
    });
    if (answer.button.accept) {
      try {
        await cancelSweep(this.api, this.sweepId);
      } catch (err) {
        Notification.error(
          `Sweep ${this.sweepId} could not be canceled: ${(err as Error).message}`
        );
      }
    }
    this.view.cancelSettled();
    await this.refresh();
  }

  private view: SweepView;
  private error: HTMLDivElement;
  private driver: HTMLButtonElement;
  private parent_ = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
}

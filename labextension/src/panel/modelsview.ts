// The "Models" tab: every registered model version (aliases, tags, framework, the run that made it,
// its params and final metrics) with download, alias, delete and serve; the running services.
import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { fmtBytes, fmtDateTime, fmtValue } from '../common/format';
import { MLTrainAPI } from './api';
import { saveBlob } from './download';
import { groupModels, matchesModel, pairsText, servicesOf } from './models';
import { IModelVersion, IService, ModelsAPI } from './modelsapi';

const COLUMNS = [
  'version',
  'aliases',
  'tags',
  'framework',
  'run',
  'params',
  'final metrics',
  'size'
];

/** The registry and the running model services, in a main-area tab. */
export class ModelsView extends Widget {
  constructor(
    api: MLTrainAPI,
    private readonly commands: CommandRegistry,
    private readonly openRunCommand = 'mltrain:open-run'
  ) {
    super();
    this.models = new ModelsAPI(api);
    this.id = 'mltrain-models';
    this.addClass('mltrain-models');
    this.node.dataset.testid = 'mltrain-models';
    this.title.label = 'Models';
    this.title.caption = 'Registered models and model services';
    this._filter = h('input', {
      type: 'search',
      class: 'mltrain-input mltrain-filter',
      placeholder: 'Filter: name, @alias, tag, framework, run',
      'aria-label': 'Filter models',
      'data-testid': 'mltrain-models-filter'
    });
    this._filter.addEventListener('input', () => this._render());
    this._status = h('span', { class: 'mltrain-dim' });
    this._body = h('div', { class: 'mltrain-models-body' });
    this.node.append(
      h(
        'div',
        { class: 'mltrain-toolbar' },
        h('span', { class: 'mltrain-panel-title' }, 'Models'),
        this._filter,
        this._status,
        h('button', { class: 'mltrain-button', onclick: () => void this.refresh() }, 'Refresh')
      ),
      this._body
    );
  }

  /** Reload the versions and the services. */
  async refresh(): Promise<void> {
    this._status.textContent = 'Loading…';
    try {
      const [versions, services] = await Promise.all([
        this.models.list(),
        this.models.services().catch((err: Error) => {
          this._servicesError = err.message;
          return [] as IService[];
        })
      ]);
      this._versions = versions;
      this._services = services;
      this._error = '';
    } catch (err) {
      this._error = (err as Error).message;
    }
    this._status.textContent = '';
    this._render();
    this._servicesError = '';
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  private _render(): void {
    if (this._error) {
      this._body.replaceChildren(h('div', { class: 'mltrain-error' }, this._error));
      return;
    }
    const shown = this._versions.filter(m => matchesModel(m, this._filter.value));
    const groups = groupModels(shown).map(g =>
      h(
        'details',
        { class: 'mltrain-model-group', open: true, 'data-model': g.name },
        h(
          'summary',
          null,
          h('b', null, g.name),
          h(
            'span',
            { class: 'mltrain-dim' },
            ` ${g.versions.length} version${g.versions.length === 1 ? '' : 's'}`
          )
        ),
        h(
          'table',
          { class: 'mltrain-table mltrain-models-table' },
          h('thead', null, h('tr', null, ...COLUMNS.map(c => h('th', null, c)), h('th', null, ''))),
          h('tbody', null, ...g.versions.map(m => this._row(m)))
        )
      )
    );
    this._body.replaceChildren(
      this._servicesSection(),
      h('h3', null, 'Registered models'),
      ...(groups.length
        ? groups
        : [
            h(
              'div',
              { class: 'mltrain-empty' },
              this._versions.length
                ? 'No model matches the filter.'
                : 'No models yet: register one from a finished run (widget, run.register_model(), mltrain register).'
            )
          ])
    );
  }

  private _servicesSection(): HTMLElement {
    const rows = this._services.map(s =>
      h(
        'tr',
        { 'data-testid': 'mltrain-service-row', 'data-service-id': s.id },
        h('td', null, `${s.name}:${s.version}`),
        h('td', null, h('code', { class: 'mltrain-service-url' }, s.url)),
        h('td', { class: 'mltrain-num' }, String(s.pid)),
        h('td', null, fmtDateTime(s.started)),
        h('td', null, this._stopButton(s))
      )
    );
    return h(
      'div',
      { class: 'mltrain-services', 'data-testid': 'mltrain-services' },
      h('h3', null, 'Running services'),
      this._servicesError ? h('div', { class: 'mltrain-error' }, this._servicesError) : null,
      rows.length
        ? h(
            'table',
            { class: 'mltrain-table' },
            h(
              'thead',
              null,
              h('tr', null, ...['model', 'URL', 'pid', 'started', ''].map(t => h('th', null, t)))
            ),
            h('tbody', null, ...rows)
          )
        : h('div', { class: 'mltrain-empty' }, 'None: "Serve" starts one for a version.')
    );
  }

  private _row(m: IModelVersion): HTMLTableRowElement {
    const runId = m.run_id ?? m.source?.run?.id ?? null;
    const runName = m.source?.run?.name ?? runId ?? '';
    const runCell = runId
      ? h(
          'a',
          {
            class: 'mltrain-link',
            href: '#',
            title: `Open run ${runId}`,
            'data-testid': 'mltrain-model-run',
            onclick: (e: Event) => {
              e.preventDefault();
              void this.commands.execute(this.openRunCommand, { id: runId });
            }
          },
          runName
        )
      : '—';
    const metrics = Object.entries(m.source?.metrics ?? {})
      .map(([k, v]) => `${k}=${fmtValue(v)}`)
      .join(', ');
    const live = servicesOf(this._services, m.name, m.version);
    const button = (label: string, testid: string, title: string, act: () => Promise<void>) =>
      h(
        'button',
        { class: 'mltrain-button', 'data-testid': testid, title, onclick: () => void act() },
        label
      );
    return h(
      'tr',
      { 'data-testid': 'mltrain-model-row', 'data-model': m.name, 'data-version': m.version },
      h('td', { class: 'mltrain-num' }, String(m.version)),
      h(
        'td',
        { 'data-testid': 'mltrain-model-aliases' },
        ...m.aliases.map(a => h('span', { class: 'mltrain-badge' }, `@${a}`))
      ),
      h('td', null, pairsText(m.tags)),
      h('td', null, [m.framework, m.framework_version].filter(Boolean).join(' ') || '—'),
      h('td', null, runCell),
      h('td', { class: 'mltrain-model-params' }, pairsText(m.source?.params)),
      h('td', { class: 'mltrain-model-metrics' }, metrics),
      h('td', { class: 'mltrain-num', title: fmtDateTime(m.created) }, fmtBytes(m.size)),
      h(
        'td',
        { class: 'mltrain-model-actions' },
        button('Download', 'mltrain-model-download', 'Download the files as a .zip', () =>
          this._download(m)
        ),
        button('Set alias…', 'mltrain-model-alias', 'Point an alias at this version', () =>
          this._setAlias(m)
        ),
        live.length
          ? this._stopButton(live[0])
          : button('Serve', 'mltrain-model-serve', 'Start `mltrain serve` for this version', () =>
              this._serve(m)
            ),
        button('Delete…', 'mltrain-model-delete', 'Remove this version', () => this._delete(m))
      )
    );
  }

  private _stopButton(s: IService): HTMLButtonElement {
    return h(
      'button',
      {
        class: 'mltrain-button mltrain-button-danger',
        'data-testid': 'mltrain-service-stop',
        title: `Stop the service at ${s.url}`,
        onclick: () =>
          void this._act(`Stop of ${s.name}:${s.version}`, () => this.models.stop(s.id))
      },
      'Stop'
    );
  }

  /** Run an action, say when it fails, then reload. */
  private async _act(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (err) {
      Notification.error(`${what} failed: ${(err as Error).message}`);
    }
    await this.refresh();
  }

  private async _download(m: IModelVersion): Promise<void> {
    try {
      saveBlob(await this.models.download(m.name, m.version), `${m.name}-v${m.version}.zip`);
    } catch (err) {
      Notification.error(`Download of ${m.name}:${m.version} failed: ${(err as Error).message}`);
    }
  }

  private async _setAlias(m: IModelVersion): Promise<void> {
    const answer = await InputDialog.getText({
      title: `Alias for ${m.name}:${m.version}`,
      label: 'The alias moves here from the version that has it.',
      placeholder: 'champion',
      okLabel: 'Set alias'
    });
    const alias = answer.button.accept ? (answer.value ?? '').trim() : '';
    if (alias) {
      await this._act(`Alias of ${m.name}:${m.version}`, () =>
        this.models.setAlias(m.name, m.version, alias)
      );
    }
  }

  private async _serve(m: IModelVersion): Promise<void> {
    this._status.textContent = `Starting ${m.name}:${m.version}…`;
    await this._act(`Serving ${m.name}:${m.version}`, async () => {
      const s = await this.models.serve(m.name, m.version);
      Notification.success(`Serving ${s.name}:${s.version} at ${s.url}`, { autoClose: 5000 });
    });
  }

  private async _delete(m: IModelVersion): Promise<void> {
    const answer = await showDialog({
      title: 'Delete model version?',
      body: `Remove ${m.name}:${m.version}? Files another version uses are kept.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (answer.button.accept) {
      await this._act(`Delete of ${m.name}:${m.version}`, () =>
        this.models.remove(m.name, m.version)
      );
    }
  }

  private readonly models: ModelsAPI;
  private _versions: IModelVersion[] = [];
  private _services: IService[] = [];
  private _error = '';
  private _servicesError = '';
  private _filter: HTMLInputElement;
  private _status: HTMLSpanElement;
  private _body: HTMLDivElement;
}

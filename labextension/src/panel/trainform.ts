// The "Train this notebook" form: target, processes, mode, name, experiment,
// params and env; a dry run (the generated script and its warnings) updates as
// the fields change, so dropped magics and left-out cells are seen before anything
// starts. It fills in from the notebook's own %%train line (the first dry run reads
// it), unless values were submitted for this notebook before: those win.
import { Widget } from '@lumino/widgets';
import { APIError, IPreviewReply, ISubmitRequest, ITarget, MLTrainAPI } from './api';
import { h } from '../common/dom';
import { fmtBytes } from '../common/format';
import {
  buildRequest,
  DEFAULT_VALUES,
  ExtraOption,
  FieldError,
  ITrainFormResult,
  ITrainFormValues,
  MODES,
  startingValues
} from './formvalues';

export type { ITrainFormResult, ITrainFormValues };

/** What the train form needs. */
export interface ITrainFormOptions {
  api: MLTrainAPI;
  /** Server-relative path of the notebook. */
  path: string;
  /** The notebook's JSON including unsaved edits (undefined: the saved file is used). */
  content?: unknown;
  /** Whether the notebook has unsaved edits (shown in the form). */
  dirty?: boolean;
  /** Values to show as they are (after a failed submit): the %%train line is not read. */
  initial?: Partial<ITrainFormValues>;
  /** What carries over from the last submit of another notebook. */
  last?: Partial<ITrainFormValues>;
  /** The values last submitted for this notebook: they win over its %%train line. */
  remembered?: Partial<ITrainFormValues> | null;
  /** Experiments that exist (offered as suggestions). */
  experiments?: string[];
  /** An error of a previous submit to show (its field highlighted). */
  error?: { message: string; field: string | null } | null;
}

/** The "Train this notebook" form, with a live dry run. */
export class TrainForm extends Widget {
  constructor(private readonly options: ITrainFormOptions) {
    super();
    this.addClass('mltrain-form');
    this.node.dataset.testid = 'mltrain-train-form';
    const v: ITrainFormValues = options.initial
      ? { ...DEFAULT_VALUES, ...options.initial }
      : startingValues(options.last ?? {}, null, options.remembered ?? null);
    // Until the first dry run tells the notebook's %%train line, and unless the user typed first.
    this._readLine = !options.initial;
    this._extra = { ...v.extra };
    const num = (name: string, value: number, min: number): HTMLInputElement =>
      h('input', {
        type: 'number',
        min,
        step: 1,
        value,
        name,
        class: 'mltrain-input',
        'data-testid': `mltrain-form-${name}`
      }) as HTMLInputElement;

    this._target = h('select', {
      class: 'mltrain-select',
      name: 'target',
      'data-testid': 'mltrain-form-target'
    });
    this._target.append(h('option', { value: v.target }, v.target));
    this._target.value = v.target;
    this._targetNote = h('span', { class: 'mltrain-subtle' });
    this._np = num('np', v.np, 1);
    this._nodes = num('nodes', v.nodes, 1);
    this._mode = h(
      'select',
      { class: 'mltrain-select', name: 'mode', 'data-testid': 'mltrain-form-mode' },
      ...MODES.map(m => h('option', { value: m }, m))
    );
    this._mode.value = v.mode;
    this._workers = num('workers', v.workers, 1);
    this._ps = num('ps', v.ps, 1);
    this._maxRestarts = num('max_restarts', v.max_restarts, 0);
    this._name = h('input', {
      type: 'text',
      class: 'mltrain-input',
      name: 'name',
      value: v.name,
      placeholder: 'default: notebook name + id',
      'data-testid': 'mltrain-form-name'
    }) as HTMLInputElement;
    const listId = `mltrain-experiments-${Math.random().toString(36).slice(2)}`;
    this._experiment = h('input', {
      type: 'text',
      class: 'mltrain-input',
      name: 'experiment',
      value: v.experiment,
      list: listId,
      'data-testid': 'mltrain-form-experiment'
    }) as HTMLInputElement;
    const datalist = h(
      'datalist',
      { id: listId },
      ...(options.experiments ?? []).map(e => h('option', { value: e }))
    );
    this._params = h('textarea', {
      class: 'mltrain-input mltrain-textarea',
      name: 'params',
      rows: 3,
      placeholder: 'K=V lines, e.g.\nlr=0.001\nepochs=10',
      'data-testid': 'mltrain-form-params'
    }) as HTMLTextAreaElement;
    this._params.value = v.params;
    this._env = h('textarea', {
      class: 'mltrain-input mltrain-textarea',
      name: 'env',
      rows: 2,
      placeholder: 'K=V lines, e.g. NCCL_DEBUG=INFO',
      'data-testid': 'mltrain-form-env'
    }) as HTMLTextAreaElement;
    this._env.value = v.env;
    this._error = h('div', {
      class: 'mltrain-error',
      'data-testid': 'mltrain-form-error',
      hidden: true
    });
    this._warnings = h('div', {
      class: 'mltrain-form-warnings',
      'data-testid': 'mltrain-form-warnings'
    });
    this._script = h('pre', { class: 'mltrain-script', 'data-testid': 'mltrain-form-script' });
    this._source = h('div', { class: 'mltrain-subtle', 'data-testid': 'mltrain-form-source' });
    this._extraNote = h('code', { 'data-testid': 'mltrain-form-extra' });
    this._extraRow = h(
      'div',
      { class: 'mltrain-form-row', 'data-field': 'extra' },
      h('span', { class: 'mltrain-form-label' }, 'Also from %%train'),
      this._extraNote
    );
    this._files = h('div', { class: 'mltrain-subtle' });

    const row = (label: string, field: string, ...inputs: (Node | string)[]): HTMLElement =>
      h(
        'label',
        { class: 'mltrain-form-row', 'data-field': field },
        h('span', { class: 'mltrain-form-label' }, label),
        ...inputs
      );
    this._psRow = row('Workers / PS', 'workers', this._workers, ' / ', this._ps);
    const fields = h(
      'div',
      { class: 'mltrain-form-fields' },
      row('Target', 'target', this._target, this._targetNote),
      row('Processes per node', 'np', this._np),
      row('Nodes', 'nodes', this._nodes),
      row('Mode', 'mode', this._mode),
      this._psRow,
      row('Max restarts', 'max_restarts', this._maxRestarts),
      row('Name', 'name', this._name),
      row('Experiment', 'experiment', this._experiment, datalist),
      row('Parameters', 'params', this._params),
      row('Environment', 'env', this._env),
      this._extraRow,
      this._error
    );
    const preview = h(
      'div',
      { class: 'mltrain-form-preview' },
      h('div', { class: 'mltrain-form-preview-title' }, 'Dry run: what each rank will run'),
      this._warnings,
      this._files,
      h(
        'details',
        { class: 'mltrain-form-script' },
        h('summary', null, 'Generated script'),
        this._script
      )
    );
    this.node.append(
      h(
        'div',
        { class: 'mltrain-form-notebook' },
        h('code', null, options.path),
        options.content !== undefined && options.dirty
          ? h('span', { class: 'mltrain-subtle' }, ' (with unsaved edits)')
          : null
      ),
      this._source,
      h('div', { class: 'mltrain-form-columns' }, fields, preview)
    );
    this._psRow.hidden = v.mode !== 'tf-ps';
    this._showSource(options.initial ? 'given' : options.remembered ? 'remembered' : 'defaults');
    this._showExtra();
    for (const el of [
      this._name,
      this._experiment,
      this._target,
      this._np,
      this._nodes,
      this._mode,
      this._workers,
      this._ps,
      this._maxRestarts,
      this._params,
      this._env
    ]) {
      // Only the user's own edits fire these: theirs are not replaced by the %%train line's.
      el.addEventListener('input', () => (this._touched = true));
      el.addEventListener('change', () => (this._touched = true));
    }
    for (const el of [
      this._target,
      this._np,
      this._nodes,
      this._mode,
      this._workers,
      this._ps,
      this._maxRestarts,
      this._params,
      this._env
    ]) {
      el.addEventListener('input', () => this._changed());
      el.addEventListener('change', () => this._changed());
    }
    if (options.error) this.showError(options.error.message, options.error.field);
    void this._loadTargets(v.target);
    this._schedulePreview(0);
  }

  /** The values as typed. */
  get values(): ITrainFormValues {
    return {
      target: this._target.value,
      np: Number(this._np.value),
      nodes: Number(this._nodes.value),
      mode: this._mode.value,
      workers: Number(this._workers.value),
      ps: Number(this._ps.value),
      max_restarts: Number(this._maxRestarts.value),
      name: this._name.value,
      experiment: this._experiment.value,
      params: this._params.value,
      env: this._env.value,
      extra: { ...this._extra }
    };
  }

  /** The request body (throws FieldError when a field is invalid). */
  request(): ISubmitRequest {
    return buildRequest(this.values, this.options.path, this.options.content);
  }

  /** What the dialog hands back: the values, and the request or why there is none. */
  getValue(): ITrainFormResult {
    const values = this.values;
    try {
      return { values, request: this.request(), error: null };
    } catch (err) {
      const field = err instanceof FieldError ? err.field : null;
      return { values, request: null, error: { message: (err as Error).message, field } };
    }
  }

  /** The latest dry run (null before it came back). */
  get preview(): IPreviewReply | null {
    return this._preview;
  }

  showError(message: string, field: string | null): void {
    this._error.hidden = !message;
    this._error.textContent = message;
    for (const r of this.node.querySelectorAll('.mltrain-form-row')) {
      r.classList.toggle(
        'mltrain-form-row-error',
        !!field && (r as HTMLElement).dataset.field === field
      );
    }
  }

  dispose(): void {
    if (this._timer) clearTimeout(this._timer);
    super.dispose();
  }

  private _changed(): void {
    this._psRow.hidden = this._mode.value !== 'tf-ps';
    this._schedulePreview(400);
  }

  private async _loadTargets(selected: string): Promise<void> {
    let targets: ITarget[];
    try {
      targets = await this.options.api.targets();
    } catch (err) {
      this._targetNote.textContent = `targets unavailable: ${(err as Error).message}`;
      return;
    }
    if (this.isDisposed || !targets.length) return;
    const current = this._target.value || selected;
    this._target.replaceChildren(
      ...targets.map(t => {
        const hl = t.health ?? { reachable: false, slots: null, gpus: [], message: '' };
        const gpus = Array.isArray(hl.gpus) ? hl.gpus.length : 0;
        const detail = [
          t.kind,
          hl.slots !== null && hl.slots !== undefined ? `${hl.slots} slots` : null,
          gpus ? `${gpus} GPUs` : null,
          hl.reachable ? null : 'unreachable'
        ]
          .filter(Boolean)
          .join(', ');
        return h('option', { value: t.name }, `${t.name} (${detail})`);
      })
    );
    this._target.value = targets.some(t => t.name === current) ? current : targets[0].name;
    const chosen = targets.find(t => t.name === this._target.value);
    this._targetNote.textContent =
      chosen && !chosen.health?.reachable && chosen.health?.message ? chosen.health.message : '';
  }

  private _schedulePreview(delay: number): void {
    if (this._timer) clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._runPreview();
    }, delay);
  }

  private async _runPreview(): Promise<void> {
    let body: ISubmitRequest;
    try {
      body = this.request();
    } catch (err) {
      this.showError((err as Error).message, err instanceof FieldError ? err.field : null);
      return;
    }
    const seq = ++this._seq;
    this._warnings.replaceChildren(h('div', { class: 'mltrain-subtle' }, 'Checking…'));
    this._warnings.dataset.state = 'loading';
    try {
      const p = await this.options.api.preview(body);
      if (seq !== this._seq || this.isDisposed) return;
      if (this._readLine) {
        this._readLine = false;
        if (p.notebook_options && this._fromLine(p)) return; // filled in: a new dry run comes
      }
      this._preview = p;
      this.showError('', null);
      this._warnings.replaceChildren(
        ...(p.warnings.length
          ? p.warnings.map(w =>
              h(
                'div',
                { class: 'mltrain-warning', 'data-testid': 'mltrain-form-warning' },
                `⚠ ${w}`
              )
            )
          : [h('div', { class: 'mltrain-ok' }, '✓ Every cell translates; no warnings.')])
      );
      this._script.textContent = p.script;
      const size = (p.files ?? []).reduce((n, f) => n + (f.size ?? 0), 0);
      this._files.textContent = `${(p.files ?? []).length} files packaged (${fmtBytes(size)})`;
      this._warnings.dataset.state = 'done';
    } catch (err) {
      if (seq !== this._seq || this.isDisposed) return;
      const e = err as APIError;
      this._warnings.replaceChildren();
      this._warnings.dataset.state = 'error';
      this.showError(e.message, e.field ?? null);
    }
  }

  /**
   * Fill in from the notebook's %%train line (what was submitted for this notebook before
   * wins; the user's edits are kept); whether the values changed.
   */
  private _fromLine(p: IPreviewReply): boolean {
    const o = this.options;
    const start = startingValues(o.last ?? {}, p.notebook_options ?? null, o.remembered ?? null);
    const before = JSON.stringify(this.values);
    if (this._touched) {
      this._extra = { ...start.extra };
    } else {
      this._fill(start);
      if (!o.remembered) this._showSource('notebook');
    }
    this._showExtra();
    if (JSON.stringify(this.values) === before) return false;
    this._schedulePreview(0);
    return true;
  }

  private _fill(v: ITrainFormValues): void {
    if (![...this._target.options].some(opt => opt.value === v.target)) {
      this._target.append(h('option', { value: v.target }, v.target));
    }
    this._target.value = v.target;
    this._np.value = String(v.np);
    this._nodes.value = String(v.nodes);
    this._mode.value = v.mode;
    this._workers.value = String(v.workers);
    this._ps.value = String(v.ps);
    this._maxRestarts.value = String(v.max_restarts);
    this._name.value = v.name;
    this._experiment.value = v.experiment;
    this._params.value = v.params;
    this._env.value = v.env;
    this._extra = { ...v.extra };
    this._psRow.hidden = v.mode !== 'tf-ps';
  }

  private _showSource(source: 'notebook' | 'remembered' | 'defaults' | 'given'): void {
    this.node.dataset.source = source;
    this._source.textContent =
      source === 'notebook'
        ? "Filled in from the notebook's %%train line."
        : source === 'remembered'
          ? 'The values last submitted for this notebook.'
          : '';
    this._source.hidden = !this._source.textContent;
  }

  /** The pass-through options as the %%train line writes them. */
  private _showExtra(): void {
    const flag = (k: string): string => `--${k.replace(/_/g, '-')}`;
    const text = Object.entries(this._extra)
      .filter(([, value]) => value !== false)
      .map(([k, value]: [string, ExtraOption]) =>
        value === true ? flag(k) : `${flag(k)} ${value}`
      )
      .join(' ');
    this._extraNote.textContent = text;
    this._extraRow.hidden = !text;
  }

  private _readLine: boolean;
  private _touched = false;
  private _extra: Record<string, ExtraOption>;
  private _source: HTMLElement;
  private _extraRow: HTMLElement;
  private _extraNote: HTMLElement;
  private _preview: IPreviewReply | null = null;
  private _seq = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _target: HTMLSelectElement;
  private _targetNote: HTMLElement;
  private _np: HTMLInputElement;
  private _nodes: HTMLInputElement;
  private _mode: HTMLSelectElement;
  private _workers: HTMLInputElement;
  private _ps: HTMLInputElement;
  private _psRow: HTMLElement;
  private _maxRestarts: HTMLInputElement;
  private _name: HTMLInputElement;
  private _experiment: HTMLInputElement;
  private _params: HTMLTextAreaElement;
  private _env: HTMLTextAreaElement;
  private _error: HTMLElement;
  private _warnings: HTMLElement;
  private _script: HTMLElement;
  private _files: HTMLElement;
}

// The run tab's "Code" (the snapshot's files, the entry script first, highlighted, and their diff
// against another run's snapshot: by default the previous run of the same name) and "Environment"
// (interpreter, hosts, GPUs, searchable packages, environment variables with secrets masked).
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { escapeHtml } from '../common/escape';
import { IRunRecord, MLTrainAPI } from './api';
import {
  diffManifests,
  filterPackages,
  highlightPython,
  lineDiff,
  Manifest,
  maskEnv,
  orderFiles
} from './code';

/** A run file as text (through the files route: the request carries the token). */
async function fileText(api: MLTrainAPI, id: string, path: string): Promise<string> {
  return (await api.download(id, path)).text();
}

function codeBlock(text: string, python: boolean): HTMLElement {
  const pre = h('pre', { class: 'mltrain-code', 'data-testid': 'mltrain-code-text' });
  pre.innerHTML = text
    .split('\n')
    .map(
      l => `<span class="mltrain-code-line">${python ? highlightPython(l) : escapeHtml(l)}</span>`
    )
    .join('\n');
  return pre;
}

/** The snapshot's files and their diff against another run's. */
export class CodeView extends Widget {
  constructor(
    private readonly api: MLTrainAPI,
    private readonly runId: string,
    private readonly runs: () => readonly IRunRecord[]
  ) {
    super();
    this.addClass('mltrain-codeview');
    this.node.dataset.testid = 'mltrain-code';
  }

  /** Load the manifest and show the entry script (once). */
  async load(run: IRunRecord, entry: string | null): Promise<void> {
    if (this._manifest) return;
    this._entry = entry;
    try {
      this._manifest = JSON.parse(
        await fileText(this.api, this.runId, 'manifest.json')
      ) as Manifest;
    } catch (err) {
      this.node.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
      return;
    }
    const others = this.runs()
      .filter(r => r.id !== run.id)
      .sort((a, b) => b.created - a.created);
    const previous = others.find(r => r.name === run.name && r.created < run.created);
    this._against = h(
      'select',
      { class: 'mltrain-chart-select', 'data-testid': 'mltrain-diff-against' },
      h('option', { value: '' }, 'no diff'),
      ...others.map(r => h('option', { value: r.id }, `${r.name} · ${r.id}`))
    );
    this._against.value = previous?.id ?? '';
    this._against.addEventListener('change', () => void this._show(this._path));
    this._files = h('ul', { class: 'mltrain-code-files' });
    this._body = h('div', { class: 'mltrain-code-body' });
    this.node.replaceChildren(
      h('div', { class: 'mltrain-toolbar' }, h('label', null, 'Diff against ', this._against)),
      h('div', { class: 'mltrain-code-split' }, this._files, this._body)
    );
    await this._show(orderFiles(this._manifest, entry)[0] ?? '');
  }

  private async _show(path: string): Promise<void> {
    const mine = this._manifest!;
    this._path = path;
    const otherId = this._against.value;
    let other: Manifest | null = null;
    if (otherId) {
      other = this._others.get(otherId) ?? null;
      if (!other) {
        try {
          other = JSON.parse(await fileText(this.api, otherId, 'manifest.json')) as Manifest;
          this._others.set(otherId, other);
        } catch {
          other = {};
        }
      }
    }
    const changes = new Map(other ? diffManifests(other, mine).map(d => [d.path, d.change]) : []);
    const paths = orderFiles(other ? { ...other, ...mine } : mine, this._entry);
    this._files.replaceChildren(
      ...paths.map(p =>
        h(
          'li',
          {
            class: `mltrain-code-file${p === path ? ' mltrain-code-file-active' : ''}`,
            'data-testid': 'mltrain-code-file',
            'data-path': p,
            'data-change': changes.get(p) ?? '',
            onclick: () => void this._show(p)
          },
          p,
          changes.get(p) && changes.get(p) !== 'same' ? ` (${changes.get(p)})` : ''
        )
      )
    );
    if (!path) {
      this._body.replaceChildren(h('div', { class: 'mltrain-empty' }, 'The snapshot is empty.'));
      return;
    }
    const python = path.endsWith('.py');
    const load = async (id: string, m: Manifest | null): Promise<string> =>
      m && path in m ? fileText(this.api, id, `snapshot/${path}`) : '';
    try {
      const text = await load(this.runId, mine);
      if (!other || changes.get(path) === 'same') {
        this._body.replaceChildren(codeBlock(text, python));
        return;
      }
      const diff = lineDiff(await load(otherId, other), text);
      if (!diff) {
        this._body.replaceChildren(h('div', { class: 'mltrain-empty' }, 'Too long to diff.'));
        return;
      }
      const pre = h('pre', { class: 'mltrain-code mltrain-diff', 'data-testid': 'mltrain-diff' });
      pre.innerHTML = diff
        .map(
          l =>
            `<span class="mltrain-diff-line mltrain-diff-${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same'}">${l.op} ${python ? highlightPython(l.text) : escapeHtml(l.text)}</span>`
        )
        .join('\n');
      this._body.replaceChildren(pre);
    } catch (err) {
      this._body.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
    }
  }

  private _manifest: Manifest | null = null;
  private _others = new Map<string, Manifest>();
  private _entry: string | null = null;
  private _path = '';
  private _against!: HTMLSelectElement;
  private _files!: HTMLUListElement;
  private _body!: HTMLDivElement;
}

function table(rows: [string, string][], testid: string): HTMLTableElement {
  return h(
    'table',
    { class: 'mltrain-table', 'data-testid': testid },
    h('tbody', null, ...rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v))))
  );
}

/** The run's env.json and environment variables. */
export class EnvView extends Widget {
  constructor(
    private readonly api: MLTrainAPI,
    private readonly runId: string
  ) {
    super();
    this.addClass('mltrain-details');
    this.node.dataset.testid = 'mltrain-env';
  }

  /** Load env.json (once) and draw it with the spec's variables. */
  async load(spec: Record<string, unknown> | null): Promise<void> {
    if (this._loaded) return;
    this._loaded = true;
    let env: Record<string, unknown>;
    try {
      env = JSON.parse(await fileText(this.api, this.runId, 'env.json')) as Record<string, unknown>;
    } catch (err) {
      this.node.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
      return;
    }
    const environment = (spec?.environment ?? {}) as Record<string, unknown>;
    const vars = (environment.variables ?? {}) as Record<string, unknown>;
    const packages = (env.packages ?? {}) as Record<string, string>;
    const gpus = Array.isArray(env.gpus) ? env.gpus : [];
    const search = h('input', {
      type: 'search',
      class: 'mltrain-input',
      placeholder: `Search ${Object.keys(packages).length} packages`,
      'data-testid': 'mltrain-package-search'
    });
    const list = h('div');
    const draw = (): void => {
      list.replaceChildren(table(filterPackages(packages, search.value), 'mltrain-packages'));
    };
    search.addEventListener('input', draw);
    draw();
    const fact = (k: string): [string, string] => [k, String(env[k] ?? '–')];
    this.node.replaceChildren(
      h('h3', null, 'Interpreter'),
      table(
        [fact('python'), fact('python_version'), fact('platform'), fact('submit_host')],
        'mltrain-interpreter'
      ),
      h('h3', null, 'Hosts'),
      table(
        [['hosts', (Array.isArray(env.hosts) ? env.hosts : []).join(', ') || '–'], fact('cpus')],
        'mltrain-hosts'
      ),
      h('h3', null, `GPUs (${gpus.length})`),
      gpus.length
        ? table(
            gpus.map((g, i) => [String(i), JSON.stringify(g)]),
            'mltrain-gpus'
          )
        : h('div', { class: 'mltrain-empty' }, 'None.'),
      h('h3', null, 'Environment variables'),
      Object.keys(vars).length
        ? table(maskEnv(vars), 'mltrain-env-vars')
        : h('div', { class: 'mltrain-empty' }, 'None set by the run.'),
      h('h3', null, 'Packages'),
      search,
      list
    );
  }

  private _loaded = false;
}

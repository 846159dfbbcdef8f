// The run tab's "Code" (the snapshot's files, the entry script first, highlighted, with the notebook
// cell each part of a generated main.py came from, and their diff against another run's snapshot: by
// default the previous run of the same name) and "Environment" (interpreter, hosts, GPUs, searchable
// packages, the variables the plan set for the ranks with secrets masked).
import { Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { escapeHtml } from '../common/escape';
import { IRunRecord, MLTrainAPI } from './api';
import {
  diffManifests,
  filterPackages,
  highlightPython,
  ILineSpan,
  IPlanEnv,
  lineDiff,
  lineSpans,
  Manifest,
  maskEnv,
  orderFiles,
  planEnv,
  spanAt
} from './code';

/** A run file as text (through the files route: the request carries the token). */
async function fileText(api: MLTrainAPI, id: string, path: string): Promise<string> {
  return (await api.download(id, path)).text();
}

function codeBlock(text: string, python: boolean, spans: readonly ILineSpan[] = []): HTMLElement {
  const pre = h('pre', { class: 'mltrain-code', 'data-testid': 'mltrain-code-text' });
  pre.innerHTML = text
    .split('\n')
    .map((l, i) => {
      const code = python ? highlightPython(l) : escapeHtml(l);
      const k = spanAt(spans, i + 1);
      if (k < 0) return `<span class="mltrain-code-line">${code}</span>`;
      // A band per cell's lines, its label in the gutter of the first (labels are our text, escaped).
      const s = spans[k];
      const label =
        s.start === i + 1
          ? `<span class="mltrain-code-cell" data-testid="mltrain-code-cell" data-span="${k}" ` +
            `title="${escapeHtml(`${s.what ? `${s.what}: ` : ''}${s.cell}, from its line ${s.cellLine}`)}">` +
            `${escapeHtml(s.cell)}</span>`
          : '';
      return (
        `<span class="mltrain-code-line mltrain-code-band mltrain-code-band-${k % 2}" ` +
        `data-span="${k}" data-line="${i + 1}">${label}${code}</span>`
      );
    })
    .join('\n');
  return pre;
}

/** The cells main.py was made of, each a button that shows its lines. */
function cellLegend(spans: readonly ILineSpan[], jump: (k: number) => void): HTMLElement {
  return h(
    'div',
    { class: 'mltrain-code-cells', 'data-testid': 'mltrain-code-cells' },
    'From the notebook: ',
    ...spans.map((s, k) =>
      h(
        'button',
        {
          class: 'mltrain-button mltrain-link-button',
          'data-testid': 'mltrain-code-cell-link',
          'data-span': k,
          title: `Show lines ${s.start}–${s.end} of main.py`,
          onclick: () => jump(k)
        },
        `${s.cell}${s.what ? ` (${s.what})` : ''}`
      )
    )
  );
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
    try {
      const spec = JSON.parse(await fileText(this.api, this.runId, 'spec.json'));
      this._spans = lineSpans((spec as Record<string, unknown>).origin);
    } catch {
      this._spans = []; // no map: the code is shown without it
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
        const spans = path === this._entry ? this._spans : [];
        const block = codeBlock(text, python, spans);
        block.addEventListener('click', e => {
          const label = (e.target as HTMLElement).closest(
            '.mltrain-code-cell'
          ) as HTMLElement | null;
          if (label) this._jump(Number(label.dataset.span));
        });
        this._body.replaceChildren(
          ...(spans.length ? [cellLegend(spans, k => this._jump(k))] : []),
          block
        );
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

  /** Scroll to the lines of span `k` of main.py and mark them. */
  private _jump(k: number): void {
    const lines = this._body.querySelectorAll<HTMLElement>('.mltrain-code-band');
    let first: HTMLElement | null = null;
    for (const l of lines) {
      const on = l.dataset.span === String(k);
      l.classList.toggle('mltrain-code-band-active', on);
      if (on && !first) first = l;
    }
    first?.scrollIntoView({ block: 'start' });
  }

  private _spans: ILineSpan[] = [];
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

/** Ranks whose own variables are listed (the rest are counted). */
const MAX_RANK_TABLES = 16;

/** The variables the plan set: for every rank, then each rank's own. */
function planSection(plan: IPlanEnv): HTMLElement[] {
  const shown = plan.ranks.slice(0, MAX_RANK_TABLES);
  const out: (HTMLElement | null)[] = [
    h('h3', null, 'Environment variables set for the ranks'),
    table(plan.shared, 'mltrain-env-vars'),
    ...(plan.ranks.some(r => r.length)
      ? [
          h('h3', null, 'Each rank’s own'),
          h(
            'table',
            { class: 'mltrain-table', 'data-testid': 'mltrain-rank-env' },
            h(
              'tbody',
              null,
              ...shown.map((vars, rank) =>
                h(
                  'tr',
                  null,
                  h('th', null, `rank ${rank}`),
                  h('td', null, vars.map(([k, v]) => `${k}=${v}`).join('  '))
                )
              )
            )
          ),
          plan.ranks.length > shown.length
            ? h(
                'div',
                { class: 'mltrain-subtle' },
                `… and ${plan.ranks.length - shown.length} more ranks`
              )
            : null
        ]
      : [])
  ];
  return out.filter((e): e is HTMLElement => e !== null);
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

  /** Load env.json and plan.json (once) and draw them (the spec's variables when there is no plan yet). */
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
    let plan: ReturnType<typeof planEnv> = null;
    try {
      plan = planEnv(JSON.parse(await fileText(this.api, this.runId, 'plan.json')));
    } catch {
      plan = null; // not planned yet (queued), or an older run: the spec's variables are shown
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
      ...(plan
        ? planSection(plan)
        : [
            h('h3', null, 'Environment variables'),
            Object.keys(vars).length
              ? table(maskEnv(vars), 'mltrain-env-vars')
              : h('div', { class: 'mltrain-empty' }, 'None set by the run.')
          ]),
      h('h3', null, 'Packages'),
      search,
      list
    );
  }

  private _loaded = false;
}

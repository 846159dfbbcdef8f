// @vitest-environment happy-dom
// "Train this notebook": where the form's values start (the notebook's %%train line, the
// values last submitted for it), what it remembers, and the dry run's warnings.
import { afterEach, describe, expect, it } from 'vitest';
import { INotebookOptions, IPreviewReply, ISubmitRequest, MLTrainAPI } from '../../src/panel/api';
import { FormMemory, IStateStore, MAX_NOTEBOOKS, STATE_ID } from '../../src/panel/formmemory';
import {
  buildRequest,
  DEFAULT_VALUES,
  ITrainFormValues,
  notebookValues,
  startingValues
} from '../../src/panel/formvalues';
import { TrainForm } from '../../src/panel/trainform';

/** The quickstart's line: `%%train --np 2 --mode torch --name digits-ddp --experiment quickstart --param lr=0.5 --wait`. */
const QUICKSTART: INotebookOptions = {
  target: 'local',
  np: 2,
  nodes: 1,
  mode: 'torch',
  name: 'digits-ddp',
  experiment: 'quickstart',
  grace: 10,
  params: { lr: 0.5 }
};

const LEFT_OUT =
  "code cell 6 left out: it uses last_run, which only works in the notebook's kernel";

class FakeAPI {
  requests: ISubmitRequest[] = [];
  constructor(private readonly options: INotebookOptions | null) {}
  async targets(): Promise<unknown[]> {
    return [{ name: 'local', kind: 'local', health: { reachable: true, slots: 8, gpus: [] } }];
  }
  async preview(body: ISubmitRequest): Promise<IPreviewReply> {
    this.requests.push(body);
    const params = Object.entries(body.params ?? {}).map(([k, v]) => `${k} = ${v}\n`);
    return {
      script: `# parameters\n${params.join('')}`,
      warnings: ['code cell 5: %train_runs dropped (it only affects the kernel)', LEFT_OUT],
      files: [],
      plan: {},
      notebook_options: this.options
    };
  }
}

let form: TrainForm | null = null;
afterEach(() => {
  form?.dispose();
  form = null;
});

function open(api: FakeAPI, more: Partial<ConstructorParameters<typeof TrainForm>[0]> = {}) {
  form = new TrainForm({ api: api as unknown as MLTrainAPI, path: 'quickstart.ipynb', ...more });
  document.body.append(form.node);
  return form;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise(r => setTimeout(r, 5));
  expect(check()).toBe(true);
}

const field = (f: TrainForm, name: string) =>
  f.node.querySelector(`[data-testid=mltrain-form-${name}]`) as HTMLInputElement;
const done = (f: TrainForm) => () => field(f, 'warnings').dataset.state === 'done';

describe('train form', () => {
  it("fills in from the notebook's %%train line and shows the warnings before launch", async () => {
    const api = new FakeAPI(QUICKSTART);
    const f = open(api);
    await until(done(f));
    expect(f.node.dataset.source).toBe('notebook');
    expect(field(f, 'np').value).toBe('2');
    expect(field(f, 'mode').value).toBe('torch');
    expect(field(f, 'name').value).toBe('digits-ddp');
    expect(field(f, 'experiment').value).toBe('quickstart');
    expect(field(f, 'params').value).toBe('lr=0.5');
    expect(field(f, 'extra').textContent).toBe('--grace 10');
    expect(field(f, 'warnings').textContent).toContain(LEFT_OUT);
    // The dry run shown is that of the filled-in values: lr is a variable of the script.
    expect(api.requests.at(-1)).toMatchObject({ np: 2, mode: 'torch', params: { lr: '0.5' } });
    expect(field(f, 'script').textContent).toContain('lr = 0.5');
    expect(f.getValue().request).toMatchObject({ np: 2, grace: 10, name: 'digits-ddp' });
  });

  it('prefers the values last submitted for the notebook; options it has no field for come from the line', async () => {
    const remembered = { ...DEFAULT_VALUES, np: 3, mode: 'torch', name: 'mine', params: 'lr=0.1' };
    const f = open(new FakeAPI({ ...QUICKSTART, grace: 30 }), { remembered });
    await until(done(f));
    expect(f.node.dataset.source).toBe('remembered');
    expect(f.values).toMatchObject({ np: 3, name: 'mine', params: 'lr=0.1', extra: { grace: 30 } });
  });

  it("keeps what the user typed before the notebook's line came back", async () => {
    const f = open(new FakeAPI(QUICKSTART));
    field(f, 'np').value = '4';
    field(f, 'np').dispatchEvent(new Event('input'));
    await until(done(f));
    expect(field(f, 'np').value).toBe('4');
    expect(field(f, 'mode').value).toBe('none');
    expect(f.values.extra).toEqual({ grace: 10 });
  });

  it('starts from the defaults for a notebook without a %%train cell', async () => {
    const f = open(new FakeAPI(null), { last: { target: 'local', np: 2 } });
    await until(done(f));
    expect(f.node.dataset.source).toBe('defaults');
    expect(f.values).toEqual({ ...DEFAULT_VALUES, np: 2 });
  });
});

describe('train form values', () => {
  it('reads a %%train line: params as K=V lines, other options passed through', () => {
    expect(
      notebookValues({ ...QUICKSTART, params: { lr: 0.5, opt: 'adam', layers: [1, 2] } })
    ).toEqual({
      target: 'local',
      np: 2,
      nodes: 1,
      mode: 'torch',
      name: 'digits-ddp',
      experiment: 'quickstart',
      params: 'lr=0.5\nopt=adam\nlayers=[1,2]',
      extra: { grace: 10 }
    });
    const start = startingValues({ target: 'gpu', np: 8 }, { np: 2, hang_timeout: 60 }, null);
    expect(start).toMatchObject({ target: 'gpu', np: 2, extra: { hang_timeout: 60 } });
    expect(buildRequest(start, 'nb.ipynb', undefined)).toMatchObject({ np: 2, hang_timeout: 60 });
  });

  it('takes max restarts from the line, remembers it per notebook and sends it', async () => {
    expect(notebookValues({ np: 2, max_restarts: 2 })).toMatchObject({
      max_restarts: 2,
      extra: {}
    });
    const start = startingValues({}, { max_restarts: 2 }, null);
    expect(start.max_restarts).toBe(2);
    expect(buildRequest(start, 'nb.ipynb', undefined).max_restarts).toBe(2);
    expect(buildRequest(DEFAULT_VALUES, 'nb.ipynb', undefined)).not.toHaveProperty('max_restarts');
    expect(() => buildRequest({ ...start, max_restarts: -1 }, 'nb.ipynb', undefined)).toThrow(
      /Max restarts/
    );
    // What was submitted for the notebook wins over its line; it does not carry to others.
    expect(startingValues({}, { max_restarts: 2 }, { max_restarts: 0 }).max_restarts).toBe(0);
    const saved = new Map<string, unknown>();
    const store: IStateStore = {
      fetch: async id => saved.get(id),
      save: async (id, value) => void saved.set(id, JSON.parse(JSON.stringify(value)))
    };
    const memory = new FormMemory(store);
    await memory.remember('nb.ipynb', { ...DEFAULT_VALUES, max_restarts: 3 });
    const again = new FormMemory(store);
    await again.ready;
    expect(again.forNotebook('nb.ipynb')?.max_restarts).toBe(3);
    expect(again.last).not.toHaveProperty('max_restarts');
    // The form's field fills in from the line and makes the body.
    const f = open(new FakeAPI({ np: 1, max_restarts: 2 }));
    await until(() => f.values.max_restarts === 2);
    const input = f.node.querySelector<HTMLInputElement>(
      '[data-testid="mltrain-form-max_restarts"]'
    );
    expect(input?.value).toBe('2');
    expect(input?.min).toBe('0');
    expect(f.request().max_restarts).toBe(2);
  });

  it('remembers what was submitted per notebook, across page loads, the most recent first kept', async () => {
    const saved = new Map<string, unknown>();
    const store: IStateStore = {
      fetch: async id => saved.get(id),
      save: async (id, value) => void saved.set(id, JSON.parse(JSON.stringify(value)))
    };
    const values: ITrainFormValues = { ...DEFAULT_VALUES, np: 2, name: 'a', env: 'X=1' };
    const memory = new FormMemory(store);
    await memory.remember('nb.ipynb', values);
    const again = new FormMemory(store);
    await again.ready;
    expect(again.forNotebook('nb.ipynb')).toEqual(values);
    expect(again.forNotebook('other.ipynb')).toBeNull();
    expect(again.last).toEqual({
      target: 'local',
      np: 2,
      nodes: 1,
      mode: 'none',
      workers: 2,
      ps: 1,
      experiment: 'default'
    });
    for (let i = 0; i < MAX_NOTEBOOKS; i++) await again.remember(`n${i}.ipynb`, values);
    expect(again.forNotebook('nb.ipynb')).toBeNull();
    expect(again.forNotebook(`n${MAX_NOTEBOOKS - 1}.ipynb`)).not.toBeNull();
    // Stored values of the wrong kind are dropped, not shown.
    saved.set(STATE_ID, {
      last: { np: 'x' },
      notebooks: { 'nb.ipynb': { np: -1, mode: 'torch' }, bad: 3 }
    });
    const odd = new FormMemory(store);
    await odd.ready;
    expect(odd.forNotebook('nb.ipynb')).toEqual({ mode: 'torch', extra: {} });
    expect(odd.last).toEqual({});
  });
});

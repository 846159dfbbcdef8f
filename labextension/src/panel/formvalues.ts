// The values of the train form, where they start from (the notebook's %%train line, the
// values last submitted) and the request body they make. No DOM here.
import { INotebookOptions, ISubmitRequest } from './api';
import { formatKeyValues, parseKeyValues } from './kv';

/** The distribution modes the form offers. */
export const MODES = ['none', 'torch', 'mpi', 'horovod', 'tf', 'tf-ps'];

/** A `%%train` option the form has no field for (`grace`, `hang_timeout` …): passed through. */
export type ExtraOption = string | number | boolean;

/** The form's values (remembered per notebook path). */
export interface ITrainFormValues {
  target: string;
  np: number;
  nodes: number;
  mode: string;
  workers: number;
  ps: number;
  /** Attempts after a failed one (`--max-restarts`), 0: none. */
  max_restarts: number;
  name: string;
  experiment: string;
  params: string;
  env: string;
  /** Body fields from the notebook's `%%train` line that the form does not show as fields. */
  extra: Record<string, ExtraOption>;
}

/** The form's values before the user changed any. */
export const DEFAULT_VALUES: ITrainFormValues = {
  target: 'local',
  np: 1,
  nodes: 1,
  mode: 'none',
  workers: 2,
  ps: 1,
  max_restarts: 0,
  name: '',
  experiment: 'default',
  params: '',
  env: '',
  extra: {}
};

/** Body fields the form sets itself (never taken from `extra`). */
const OWN_FIELDS = new Set([
  'kind',
  'path',
  'content',
  'args',
  ...(Object.keys(DEFAULT_VALUES) as string[]).filter(k => k !== 'extra')
]);

/** The `%%train` options the form has no field for, as body fields to pass through. */
export function extraOptions(options: INotebookOptions): Record<string, ExtraOption> {
  const extra: Record<string, ExtraOption> = {};
  for (const [key, value] of Object.entries(options)) {
    if (OWN_FIELDS.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      extra[key] = value;
    }
  }
  return extra;
}

/** The form's values of a notebook's `%%train` line (what it does not say is left out). */
export function notebookValues(options: INotebookOptions): Partial<ITrainFormValues> {
  const v: Partial<ITrainFormValues> = { extra: extraOptions(options) };
  for (const key of ['target', 'mode', 'name', 'experiment'] as const) {
    const value = options[key];
    if (typeof value === 'string') v[key] = value;
  }
  for (const key of ['np', 'nodes', 'workers', 'ps'] as const) {
    const value = options[key];
    if (typeof value === 'number' && Number.isInteger(value)) v[key] = value;
  }
  const restarts = options.max_restarts;
  if (typeof restarts === 'number' && Number.isInteger(restarts) && restarts >= 0) {
    v.max_restarts = restarts;
  }
  const params = options.params;
  v.params = params && typeof params === 'object' ? formatKeyValues(params) : '';
  return v;
}

/**
 * Where the form starts for a notebook: the defaults, then what carries over from the last
 * submit of any notebook, then the notebook's `%%train` line, then what was last submitted
 * for this notebook (its own choices win over the line).
 */
export function startingValues(
  last: Partial<ITrainFormValues>,
  notebook: INotebookOptions | null,
  remembered: Partial<ITrainFormValues> | null
): ITrainFormValues {
  const fromLine = notebook ? notebookValues(notebook) : {};
  const values = { ...DEFAULT_VALUES, ...last, ...fromLine, ...remembered };
  // Options the form cannot edit always come from the line as it is now.
  if (notebook) values.extra = fromLine.extra ?? {};
  return values;
}

/**
 * What carries over to a notebook never trained: all but its name, restarts, params,
 * environment and extras.
 */
export function carriedValues(values: Partial<ITrainFormValues>): Partial<ITrainFormValues> {
  const carried = { ...values };
  delete carried.name;
  delete carried.max_restarts;
  delete carried.params;
  delete carried.env;
  delete carried.extra;
  return carried;
}

/** The values of a stored record that have the right types (the rest is dropped). */
export function validValues(raw: unknown): Partial<ITrainFormValues> {
  const v: Partial<ITrainFormValues> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return v;
  const r = raw as Record<string, unknown>;
  for (const key of ['target', 'mode', 'name', 'experiment', 'params', 'env'] as const) {
    if (typeof r[key] === 'string') v[key] = r[key];
  }
  for (const key of ['np', 'nodes', 'workers', 'ps'] as const) {
    const value = r[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1) v[key] = value;
  }
  const restarts = r.max_restarts;
  if (typeof restarts === 'number' && Number.isInteger(restarts) && restarts >= 0) {
    v.max_restarts = restarts;
  }
  if (r.extra && typeof r.extra === 'object' && !Array.isArray(r.extra)) {
    v.extra = extraOptions(r.extra as INotebookOptions);
  }
  return v;
}

/**
 * The request body of the form's values; throws an Error naming the field
 * when a value is invalid.
 */
export function buildRequest(v: ITrainFormValues, path: string, content: unknown): ISubmitRequest {
  const params = parseKeyValues(v.params);
  if (params.errors.length) throw new FieldError('params', `Parameters: ${params.errors[0]}`);
  const env = parseKeyValues(v.env);
  if (env.errors.length) throw new FieldError('env', `Environment: ${env.errors[0]}`);
  if (!Number.isInteger(v.np) || v.np < 1) {
    throw new FieldError('np', 'Processes per node must be a whole number ≥ 1');
  }
  if (!Number.isInteger(v.nodes) || v.nodes < 1) {
    throw new FieldError('nodes', 'Nodes must be a whole number ≥ 1');
  }
  const restarts = v.max_restarts ?? 0;
  if (!Number.isInteger(restarts) || restarts < 0) {
    throw new FieldError('max_restarts', 'Max restarts must be a whole number ≥ 0');
  }
  const body: ISubmitRequest = {
    ...(v.extra ?? {}),
    kind: 'notebook',
    path,
    target: v.target || 'local',
    np: v.np,
    nodes: v.nodes,
    mode: v.mode || 'none',
    experiment: v.experiment.trim() || 'default'
  };
  if (content !== undefined) body.content = content;
  if (v.mode === 'tf-ps') {
    body.workers = v.workers;
    body.ps = v.ps;
  }
  if (restarts > 0) body.max_restarts = restarts;
  if (v.name.trim()) body.name = v.name.trim();
  if (Object.keys(params.values).length) body.params = params.values;
  if (Object.keys(env.values).length) body.env = env.values;
  return body;
}

/** What the form gives back: its values, and the request they make or the error. */
export interface ITrainFormResult {
  values: ITrainFormValues;
  request: ISubmitRequest | null;
  error: { message: string; field: string | null } | null;
}

/** A form error that names its field. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(message);
  }
}

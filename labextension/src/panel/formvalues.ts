// The values of the train form and the request body they make. No DOM here.
import { ISubmitRequest } from './api';
import { parseKeyValues } from './kv';

/** The distribution modes the form offers. */
export const MODES = ['none', 'torch', 'mpi', 'horovod', 'tf', 'tf-ps'];

/** What the form remembers between openings (per notebook path for params and env). */
export interface ITrainFormValues {
  target: string;
  np: number;
  nodes: number;
  mode: string;
  workers: number;
  ps: number;
  name: string;
  experiment: string;
  params: string;
  env: string;
}

/** The form's values before the user changed any. */
export const DEFAULT_VALUES: ITrainFormValues = {
  target: 'local',
  np: 1,
  nodes: 1,
  mode: 'none',
  workers: 2,
  ps: 1,
  name: '',
  experiment: 'default',
  params: '',
  env: ''
};

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
  const body: ISubmitRequest = {
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

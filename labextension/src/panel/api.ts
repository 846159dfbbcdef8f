// The client of the mltrain server extension: one request wrapper for every REST
// call, and the URLs of its two websockets. Types mirror the server's JSON.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { RunStatus } from '../common/statuses';
import { ISweepMark } from '../common/sweep/nest';

/** Path of the API under the server's base URL. */
export const API_PATH = 'mltrain/api';

/** Why a run failed: the first failing rank, where, how, and its last output. */
export interface IRootCause {
  message: string;
  rank?: number | null;
  host?: string | null;
  exit_code?: number | null;
  signal?: number | null;
  traceback?: string | null;
  /** The exception the traceback ends with, e.g. `ValueError: bad shape`. */
  error?: string | null;
  stderr_tail?: string | null;
}

/** A metric's summary in the index: last, min, max and count of its values. */
export interface IMetricSummary {
  last: number | null;
  min: number | null;
  max: number | null;
  count: number;
}

/** A run as the server lists it (the index row plus its summary). */
export interface IRunRecord {
  id: string;
  experiment: string;
  name: string;
  status: RunStatus | string;
  created: number;
  target: string;
  mode: string;
  ranks: number;
  stages: Record<string, number>;
  exit_codes: (number | null)[];
  root_cause: IRootCause | null;
  metrics: Record<string, IMetricSummary>;
  params: Record<string, unknown>;
  ended: number | null;
  duration: number | null;
  /** Which attempt runs (or ran last): 1, then 2… after a restart (absent from an older server). */
  attempt?: number;
  /** The attempts before it, oldest first (absent from an older server). */
  attempts?: IAttempt[];
  /** Ranks that fell behind: `{rank, host, ratio, since, until}` (until null while it lasts). */
  stragglers?: unknown[];
  /** Set by people (PATCH runs/{id}); absent from an older server. */
  tags?: string[];
  note?: string;
  /** The run that started this one (a sweep's driver, for its trials); empty or absent for others. */
  parent?: string;
  /** The run's sweep and its role there (`GET runs` only; null for a run of no sweep). */
  sweep?: ISweepMark | null;
}

/** One earlier attempt of a restarted run. */
export interface IAttempt {
  attempt: number;
  started: number | null;
  ended: number | null;
  root_cause: IRootCause | null;
  exit_codes?: (number | null)[];
}

/** A page of the run list. */
export interface IRunList {
  runs: IRunRecord[];
  total: number;
  offset: number;
  limit: number;
}

/** Filters and paging of `GET runs`. */
export interface IListQuery {
  experiment?: string;
  status?: string;
  q?: string;
  limit?: number;
  offset?: number;
}

/** What `POST runs` and `POST runs/preview` take. */
export interface ISubmitRequest {
  kind: 'notebook' | 'script';
  path: string;
  content?: unknown;
  target?: string;
  np?: number;
  nodes?: number;
  mode?: string;
  workers?: number;
  ps?: number;
  name?: string;
  experiment?: string;
  params?: Record<string, string>;
  env?: Record<string, string>;
  hang_timeout?: number;
  grace?: number;
  max_restarts?: number;
}

/**
 * The options of a notebook's first `%%train` line as `POST runs` body fields (what
 * `POST runs/preview` finds in the notebook); options the form has no field for pass through.
 */
export interface INotebookOptions {
  target?: string;
  np?: number;
  nodes?: number;
  mode?: string;
  workers?: number;
  ps?: number;
  name?: string;
  experiment?: string;
  params?: Record<string, unknown>;
  [option: string]: unknown;
}

/** What `POST runs` answers: the new run and the warnings of packaging it. */
export interface ISubmitReply {
  run: IRunRecord;
  warnings: string[];
}

/** What `POST runs/preview` answers: the script, warnings, files and plan a submit would make. */
export interface IPreviewReply {
  script: string;
  warnings: string[];
  files: { path: string; size: number }[];
  plan: Record<string, unknown>;
  /** The notebook's `%%train` options (null: it has no `%%train` cell; absent: an older server). */
  notebook_options?: INotebookOptions | null;
}

/** One run with its full spec. */
export interface IRunDetail {
  run: IRunRecord;
  spec: Record<string, unknown>;
}

/** What a cancel answers: whether it was canceled, and the record after it. */
export interface ICancelReply {
  canceled: boolean;
  run: IRunRecord;
}

/** A chunk of a rank's log, the bytes [offset, next) as text. */
export interface ILogChunk {
  rank: number;
  offset: number;
  next: number;
  data: string;
}

/** One metric value of `GET runs/{id}/metrics`. */
export interface IMetricPoint {
  rank: number;
  name: string;
  value: number | null;
  step: number | null;
  time: number;
  /** The attempt of a restarted run that logged it (absent means 1). */
  attempt?: number;
}

/** One of a run's files (outputs and logs), by path under the run folder. */
export interface IRunFile {
  path: string;
  size: number;
}

/** Whether a compute target answers, and what it has. */
export interface ITargetHealth {
  reachable: boolean;
  slots: number | null;
  gpus: unknown[];
  message: string;
}

/** A configured compute target and its health. */
export interface ITarget {
  name: string;
  kind: string;
  source: string;
  health: ITargetHealth;
}

/** A metric record of the stream: a value, or a progress event. */
export type StreamMetricRecord =
  | { name: string; value: number | null; step?: number | null; time: number; attempt?: number }
  | { event: 'progress'; step: number; total?: number | null; time: number };

/** Messages of the `runs/{id}/stream` websocket. */
export type RunStreamMessage =
  | { type: 'status'; run: IRunRecord }
  | { type: 'logs'; rank: number; offset: number; next: number; data: string }
  | {
      type: 'metrics';
      rank: number;
      offset: number;
      next: number;
      records: StreamMetricRecord[];
      /** Values the server left out of this batch: a metric logged faster than a chart can draw is sampled. */
      thinned?: number;
    }
  | { type: 'end' };

/** Messages of the `runs/stream` websocket. */
export type RunsStreamMessage =
  { type: 'runs'; runs: IRunRecord[] } | { type: 'run'; run: IRunRecord };

/** An error the server answered (or a network failure, status 0), with the server's message. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/**
 * The message of an error reply: the body's `message` (naming the bad `field`
 * when the server gives one), else the HTTP reason.
 */
export function errorMessage(status: number, statusText: string, body: unknown): string {
  let message = '';
  let field = '';
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') message = b.message;
    else if (typeof b.reason === 'string') message = b.reason;
    if (typeof b.field === 'string') field = b.field;
  } else if (typeof body === 'string') {
    message = body.trim().slice(0, 500);
  }
  if (!message) message = statusText ? `${status} ${statusText}` : `HTTP ${status}`;
  if (field && !message.includes(field)) message = `${field}: ${message}`;
  return message;
}

/** `?a=1&b=x` from the defined, non-empty values of `query` ('' when none). */
export function queryString(query: Record<string, string | number | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A path below a run's outputs/logs folder, each segment encoded, slashes kept. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter(p => p !== '')
    .map(encodeURIComponent)
    .join('/');
}

/** `0:123,1:45` for the stream's resume offsets (ranks in order). */
export function offsetsParam(offsets: ReadonlyMap<number, number>): string {
  return [...offsets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([r, o]) => `${r}:${o}`)
    .join(',');
}

/** The REST and websocket client. */
export class MLTrainAPI {
  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  readonly settings: ServerConnection.ISettings;

  /** Absolute URL of an API path (e.g. `runs/ID/logs`). */
  url(path: string, query: Record<string, string | number | undefined | null> = {}): string {
    return URLExt.join(this.settings.baseUrl, API_PATH, path) + queryString(query);
  }

  /** Websocket URL of an API path, with the token when the page's settings say to append it. */
  wsUrl(path: string, query: Record<string, string | number | undefined | null> = {}): string {
    const q = { ...query };
    const token = this.settings.token;
    if (this.settings.appendToken && token) q.token = token;
    return URLExt.join(this.settings.wsUrl, API_PATH, path) + queryString(q);
  }

  /** One call to the server: JSON in, JSON out, errors as `APIError` with the server's message. */
  async request<T>(path: string, init: RequestInit = {}, query = {}): Promise<T> {
    const url = this.url(path, query);
    if (init.body !== undefined && !(init.headers && 'Content-Type' in init.headers)) {
      init = { ...init, headers: { 'Content-Type': 'application/json', ...init.headers } };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new APIError(`cannot reach the Jupyter server: ${(err as Error).message}`, 0);
    }
    const text = await response.text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) {
      const b = body as Record<string, unknown> | undefined;
      throw new APIError(
        errorMessage(response.status, response.statusText, body),
        response.status,
        b && typeof b === 'object' && typeof b.field === 'string' ? b.field : null
      );
    }
    if (typeof body === 'string') {
      throw new APIError(`unexpected reply from ${url}: not JSON`, response.status);
    }
    return body as T;
  }

  listRuns(query: IListQuery = {}): Promise<IRunList> {
    return this.request<IRunList>('runs', { method: 'GET' }, { ...query });
  }

  submit(body: ISubmitRequest): Promise<ISubmitReply> {
    return this.request<ISubmitReply>('runs', { method: 'POST', body: JSON.stringify(body) });
  }

  preview(body: ISubmitRequest): Promise<IPreviewReply> {
    return this.request<IPreviewReply>('runs/preview', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  getRun(id: string): Promise<IRunDetail> {
    return this.request<IRunDetail>(`runs/${encodeURIComponent(id)}`, { method: 'GET' });
  }

  /** Set a run's tags and/or note; the record after. */
  patchRun(id: string, body: { tags?: string[]; note?: string }): Promise<{ run: IRunRecord }> {
    const init = { method: 'PATCH', body: JSON.stringify(body) };
    return this.request<{ run: IRunRecord }>(`runs/${encodeURIComponent(id)}`, init);
  }

  cancel(id: string): Promise<ICancelReply> {
    return this.request<ICancelReply>(`runs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  rerun(id: string): Promise<ISubmitReply> {
    return this.request<ISubmitReply>(`runs/${encodeURIComponent(id)}/rerun`, {
      method: 'POST',
      body: '{}'
    });
  }

  logs(id: string, rank: number, offset: number): Promise<ILogChunk> {
    return this.request<ILogChunk>(
      `runs/${encodeURIComponent(id)}/logs`,
      { method: 'GET' },
      { rank, offset }
    );
  }

  async metrics(id: string): Promise<IMetricPoint[]> {
    const r = await this.request<{ metrics: IMetricPoint[] }>(
      `runs/${encodeURIComponent(id)}/metrics`,
      { method: 'GET' }
    );
    return r.metrics ?? [];
  }

  async files(id: string): Promise<IRunFile[]> {
    const r = await this.request<{ files: IRunFile[] }>(`runs/${encodeURIComponent(id)}/files`, {
      method: 'GET'
    });
    return r.files ?? [];
  }

  /** URL that downloads one of a run's files. */
  fileUrl(id: string, path: string): string {
    return this.url(`runs/${encodeURIComponent(id)}/files/${encodePath(path)}`);
  }

  /** One of a run's files as a Blob (the request carries the token; a plain link may not). */
  async download(id: string, path: string): Promise<Blob> {
    const response = await ServerConnection.makeRequest(
      this.fileUrl(id, path),
      { method: 'GET' },
      this.settings
    );
    if (!response.ok) {
      let body: unknown = undefined;
      try {
        body = await response.json();
      } catch {
        body = undefined;
      }
      throw new APIError(errorMessage(response.status, response.statusText, body), response.status);
    }
    return response.blob();
  }

  async targets(): Promise<ITarget[]> {
    const r = await this.request<{ targets: ITarget[] }>('targets', { method: 'GET' });
    return r.targets ?? [];
  }

  /** URL of a run's stream, resuming logs and metrics from the given byte offsets per rank. */
  runStreamUrl(
    id: string,
    logOffsets: ReadonlyMap<number, number>,
    metricOffsets: ReadonlyMap<number, number>
  ): string {
    return this.wsUrl(`runs/${encodeURIComponent(id)}/stream`, {
      logs: offsetsParam(logOffsets),
      metrics: offsetsParam(metricOffsets)
    });
  }

  /** URL of the run list's stream. */
  runsStreamUrl(): string {
    return this.wsUrl('runs/stream');
  }

  /** A websocket (the settings' implementation, so tests and other hosts can swap it). */
  openSocket(url: string): WebSocket {
    return new this.settings.WebSocket(url);
  }
}

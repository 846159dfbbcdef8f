// The client of the model registry and model services routes (jupyter_mltrain/server/models.py).
import { ServerConnection } from '@jupyterlab/services';
import { APIError, errorMessage, MLTrainAPI } from './api';

/** Where a model version came from (`GET models` keeps run, path, params, metrics, snapshot). */
export interface IModelSource {
  run?: { id: string; name: string; experiment: string; status: string };
  path?: string;
  params?: Record<string, unknown>;
  metrics?: Record<string, number | null>;
  snapshot?: string | null;
  spec?: Record<string, unknown> | null;
  env?: Record<string, unknown> | null;
}

/** One registered version of a model. */
export interface IModelVersion {
  name: string;
  version: number;
  created: number;
  root: string;
  run_id: string | null;
  framework: string | null;
  framework_version: string | null;
  description: string;
  tags: Record<string, string>;
  files: Record<string, [number, string]>;
  source: IModelSource;
  aliases: string[];
  size: number;
}

/** A running model service (`mltrain serve` in the background). */
export interface IService {
  id: string;
  name: string;
  version: number;
  url: string;
  pid: number;
  started: number;
  host: string;
  port: number;
}

/** What `POST runs/{id}/register` takes. */
export interface IRegisterRequest {
  name: string;
  path?: string;
  alias?: string;
  tags?: Record<string, string>;
}

function modelPath(name: string, version: number, rest = ''): string {
  return `models/${encodeURIComponent(name)}/${version}${rest}`;
}

/** The registry and services, over the panel's one request wrapper. */
export class ModelsAPI {
  constructor(readonly api: MLTrainAPI) {}

  async list(): Promise<IModelVersion[]> {
    return (await this.api.request<{ models: IModelVersion[] }>('models', { method: 'GET' }))
      .models;
  }

  async get(name: string, version: number): Promise<IModelVersion> {
    const path = modelPath(name, version);
    return (await this.api.request<{ model: IModelVersion }>(path, { method: 'GET' })).model;
  }

  async setAlias(name: string, version: number, alias: string): Promise<IModelVersion> {
    const init = { method: 'PUT', body: JSON.stringify({ alias }) };
    const path = modelPath(name, version, '/alias');
    return (await this.api.request<{ model: IModelVersion }>(path, init)).model;
  }

  async remove(name: string, version: number): Promise<void> {
    await this.api.request(modelPath(name, version), { method: 'DELETE' });
  }

  async register(runId: string, body: IRegisterRequest): Promise<IModelVersion> {
    const path = `runs/${encodeURIComponent(runId)}/register`;
    const init = { method: 'POST', body: JSON.stringify(body) };
    return (await this.api.request<{ model: IModelVersion }>(path, init)).model;
  }

  /** The version's files as a .zip (the request carries the token; a plain link may not). */
  async download(name: string, version: number): Promise<Blob> {
    const url = this.api.url(modelPath(name, version, '/download'));
    const response = await ServerConnection.makeRequest(url, { method: 'GET' }, this.api.settings);
    if (!response.ok) {
      const body: unknown = await response.json().catch(() => undefined);
      throw new APIError(errorMessage(response.status, response.statusText, body), response.status);
    }
    return response.blob();
  }

  async services(): Promise<IService[]> {
    return (await this.api.request<{ services: IService[] }>('services', { method: 'GET' }))
      .services;
  }

  async serve(name: string, version: number): Promise<IService> {
    const init = { method: 'POST', body: JSON.stringify({ name, version }) };
    return (await this.api.request<{ service: IService }>('services', init)).service;
  }

  async stop(id: string): Promise<void> {
    await this.api.request(`services/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
}

import { ServerConnection } from '@jupyterlab/services';
import { describe, expect, it, vi } from 'vitest';
import {
  APIError,
  encodePath,
  errorMessage,
  MLTrainAPI,
  offsetsParam,
  queryString
} from '../../src/panel/api';

type Call = { url: string; method: string; headers: Headers; body: string };

/** A client whose fetch answers from `reply` and records each request. */
function client(
  reply: (call: Call) => Response | Promise<Response>,
  opts: Partial<ServerConnection.ISettings> = {}
): { api: MLTrainAPI; calls: Call[] } {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (req: Request) => {
    const call = {
      // makeRequest appends a cache-busting timestamp (settings.init.cache is 'no-store').
      url: req.url.replace(/[?&]\d{10,}$/, ''),
      method: req.method,
      headers: req.headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? '' : await req.text()
    };
    calls.push(call);
    return reply(call);
  });
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/user/alice/',
    wsUrl: 'ws://127.0.0.1:8888/user/alice/',
    token: 'secret',
    appendToken: true,
    fetch: fetchMock as unknown as typeof fetch,
    ...opts
  });
  return { api: new MLTrainAPI(settings), calls };
}

const json = (status: number, body: unknown, statusText = ''): Response =>
  new Response(JSON.stringify(body), {
    status,
    statusText,
    headers: { 'Content-Type': 'application/json' }
  });

const RUN = {
  id: '20260101-000000-abcdef',
  experiment: 'default',
  name: 'r',
  status: 'Running',
  created: 1,
  target: 'local',
  mode: 'none',
  ranks: 2,
  stages: {},
  exit_codes: [],
  root_cause: null,
  metrics: {},
  params: {},
  ended: null,
  duration: null
};

describe('URL building', () => {
  it('joins the base URL, the API path and a query of only the given values', () => {
    const { api } = client(() => json(200, {}));
    expect(
      api.url('runs', { experiment: 'a b', status: '', q: undefined, limit: 50, offset: 0 })
    ).toBe('http://127.0.0.1:8888/user/alice/mltrain/api/runs?experiment=a%20b&limit=50&offset=0');
  });

  it('encodes run ids and keeps the folders of a file path', () => {
    const { api } = client(() => json(200, {}));
    expect(api.fileUrl('id/../x', 'outputs/my model#1.pt')).toBe(
      'http://127.0.0.1:8888/user/alice/mltrain/api/runs/id%2F..%2Fx/files/outputs/my%20model%231.pt'
    );
    expect(encodePath('/a//b c/')).toBe('a/b%20c');
  });

  it('builds stream URLs with resume offsets per rank and the token', () => {
    const { api } = client(() => json(200, {}));
    const logs = new Map([
      [1, 40],
      [0, 1200]
    ]);
    expect(api.runStreamUrl('R1', logs, new Map([[0, 7]]))).toBe(
      'ws://127.0.0.1:8888/user/alice/mltrain/api/runs/R1/stream?logs=0%3A1200%2C1%3A40&metrics=0%3A7&token=secret'
    );
    expect(api.runStreamUrl('R1', new Map(), new Map())).toBe(
      'ws://127.0.0.1:8888/user/alice/mltrain/api/runs/R1/stream?token=secret'
    );
    expect(api.runsStreamUrl()).toBe(
      'ws://127.0.0.1:8888/user/alice/mltrain/api/runs/stream?token=secret'
    );
  });

  it('leaves the token out of websocket URLs when the page says not to append it', () => {
    const { api } = client(() => json(200, {}), { appendToken: false });
    expect(api.runsStreamUrl()).toBe('ws://127.0.0.1:8888/user/alice/mltrain/api/runs/stream');
  });

  it('formats helpers', () => {
    expect(
      offsetsParam(
        new Map([
          [2, 5],
          [0, 1]
        ])
      )
    ).toBe('0:1,2:5');
    expect(queryString({})).toBe('');
  });
});

describe('requests', () => {
  it('GETs the run list with the token header', async () => {
    const { api, calls } = client(() => json(200, { runs: [RUN], total: 1, offset: 0, limit: 50 }));
    const list = await api.listRuns({ status: 'Running', limit: 50 });
    expect(list.total).toBe(1);
    expect(calls[0].method).toBe('GET');
    expect(calls[0].url).toBe(
      'http://127.0.0.1:8888/user/alice/mltrain/api/runs?status=Running&limit=50'
    );
    expect(calls[0].headers.get('Authorization')).toBe('token secret');
  });

  it('POSTs a submit as JSON', async () => {
    const { api, calls } = client(() => json(201, { run: RUN, warnings: ['dropped %matplotlib'] }));
    const reply = await api.submit({
      kind: 'notebook',
      path: 'a.ipynb',
      np: 2,
      content: { cells: [] }
    });
    expect(reply.warnings).toEqual(['dropped %matplotlib']);
    expect(calls[0].method).toBe('POST');
    expect(calls[0].headers.get('Content-Type')).toBe('application/json');
    expect(JSON.parse(calls[0].body)).toEqual({
      kind: 'notebook',
      path: 'a.ipynb',
      np: 2,
      content: { cells: [] }
    });
  });

  it('cancels with DELETE, reruns with POST, reads logs from an offset', async () => {
    const { api, calls } = client(call =>
      call.url.includes('/logs')
        ? json(200, { rank: 1, offset: 10, next: 20, data: 'x\n' })
        : call.method === 'DELETE'
          ? json(200, { canceled: true, run: RUN })
          : json(201, { run: RUN, warnings: [] })
    );
    expect((await api.cancel('R 1')).canceled).toBe(true);
    await api.rerun('R1');
    const chunk = await api.logs('R1', 1, 10);
    expect(chunk.next).toBe(20);
    expect(
      calls.map(
        c => `${c.method} ${c.url.replace('http://127.0.0.1:8888/user/alice/mltrain/api/', '')}`
      )
    ).toEqual(['DELETE runs/R%201', 'POST runs/R1/rerun', 'GET runs/R1/logs?rank=1&offset=10']);
  });

  it('turns a 400 body into a message naming the field', async () => {
    const { api } = client(() =>
      json(400, { message: 'np must be ≥ 1, got 0', field: 'np' }, 'Bad Request')
    );
    const err = await api.submit({ kind: 'script', path: 'a.py', np: 0 }).catch(e => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(400);
    expect(err.field).toBe('np');
    expect(err.message).toBe('np must be ≥ 1, got 0');
  });

  it('prefixes the field when the message does not name it', async () => {
    const { api } = client(() => json(400, { message: 'must be a number', field: 'workers' }));
    const err = await api.preview({ kind: 'notebook', path: 'a.ipynb' }).catch(e => e);
    expect(err.message).toBe('workers: must be a number');
  });

  it('reports a 404 with the server message', async () => {
    const { api } = client(() => json(404, { message: "no run 'nope'" }, 'Not Found'));
    const err = await api.getRun('nope').catch(e => e);
    expect(err.status).toBe(404);
    expect(err.message).toBe("no run 'nope'");
  });

  it('falls back to the HTTP status for a body that is not JSON', async () => {
    const { api } = client(() => new Response('', { status: 502, statusText: 'Bad Gateway' }));
    const err = await api.targets().catch(e => e);
    expect(err.message).toBe('502 Bad Gateway');
    const { api: api2 } = client(() => new Response('<html>oops</html>', { status: 500 }));
    expect((await api2.targets().catch(e => e)).message).toBe('<html>oops</html>');
  });

  it('reports a network failure as status 0', async () => {
    const { api } = client(() => {
      throw new TypeError('Failed to fetch');
    });
    const err = await api.listRuns().catch(e => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(0);
    expect(err.message).toContain('Failed to fetch');
  });

  it('unwraps list replies', async () => {
    const { api } = client(call =>
      call.url.endsWith('/metrics')
        ? json(200, { metrics: [{ rank: 0, name: 'loss', value: 1, step: 0, time: 1 }] })
        : call.url.endsWith('/files')
          ? json(200, { files: [{ path: 'outputs/m.pt', size: 3 }] })
          : json(200, {
              targets: [
                {
                  name: 'local',
                  kind: 'local',
                  source: 'builtin',
                  health: { reachable: true, slots: 8, gpus: [], message: '' }
                }
              ]
            })
    );
    expect((await api.metrics('R'))[0].name).toBe('loss');
    expect((await api.files('R'))[0].path).toBe('outputs/m.pt');
    expect((await api.targets())[0].health.slots).toBe(8);
  });
});

describe('errorMessage', () => {
  it('prefers message, then reason, then the status', () => {
    expect(errorMessage(403, 'Forbidden', { reason: 'no access' })).toBe('no access');
    expect(errorMessage(403, 'Forbidden', null)).toBe('403 Forbidden');
    expect(errorMessage(418, '', undefined)).toBe('HTTP 418');
  });
});

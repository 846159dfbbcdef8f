import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IRunRecord, MLTrainAPI } from '../../src/panel/api';
import { MetricStore } from '../../src/panel/metrics';
import { IMetricBatch, RunStream, unseenPart } from '../../src/panel/stream';

/** A stand-in for the browser's WebSocket that a test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  open(): void {
    this.onopen?.();
  }
  send(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(): void {
    this.onclose?.();
  }
  close(): void {
    this.closed = true;
  }
}

function api(): MLTrainAPI {
  const a = new MLTrainAPI({
    baseUrl: 'http://h/',
    wsUrl: 'ws://h/',
    token: '',
    appendToken: false
  } as never);
  a.openSocket = (url: string) => new FakeSocket(url) as unknown as WebSocket;
  return a;
}

const RUN = { id: 'R', status: 'Running', ranks: 2 } as IRunRecord;

describe('run stream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => vi.useRealTimers());

  it('delivers logs and metrics, and resumes after a drop from the offsets received', () => {
    const s = new RunStream(api(), 'R');
    const logs: string[] = [];
    let metricRecords = 0;
    s.logs.connect((_, { rank, data }) => logs.push(`${rank}:${data}`));
    s.metrics.connect((_, { records }) => (metricRecords += records.length));
    s.start();
    const ws1 = FakeSocket.all[0];
    expect(ws1.url).toBe('ws://h/mltrain/api/runs/R/stream');
    ws1.open();
    expect(s.state).toBe('live');
    ws1.send({ type: 'status', run: RUN });
    ws1.send({ type: 'logs', rank: 0, offset: 0, next: 6, data: 'a\nbb\n' });
    ws1.send({ type: 'logs', rank: 1, offset: 0, next: 2, data: 'c\n' });
    ws1.send({
      type: 'metrics',
      rank: 0,
      offset: 0,
      next: 80,
      records: [
        { name: 'loss', value: 1, step: 0, time: 1 },
        { event: 'progress', step: 1, total: 10, time: 1 }
      ]
    });
    ws1.drop();
    expect(s.state).toBe('connecting');
    vi.advanceTimersByTime(600);
    const ws2 = FakeSocket.all[1];
    expect(decodeURIComponent(ws2.url)).toBe(
      'ws://h/mltrain/api/runs/R/stream?logs=0:6,1:2&metrics=0:80'
    );
    ws2.open();
    // The server resends from the offsets: nothing repeats, nothing is missing.
    ws2.send({ type: 'logs', rank: 0, offset: 6, next: 9, data: 'dd\n' });
    ws2.send({ type: 'end' });
    expect(logs).toEqual(['0:a\nbb\n', '1:c\n', '0:dd\n']);
    expect(metricRecords).toBe(2);
    expect(s.state).toBe('ended');
    expect(ws2.closed).toBe(true);
    vi.advanceTimersByTime(60000);
    expect(FakeSocket.all.length).toBe(2); // no reconnect after the end
    s.dispose();
  });

  it('drops repeated chunks and keeps only the unseen tail of an overlapping one', () => {
    const s = new RunStream(api(), 'R');
    const logs: string[] = [];
    s.logs.connect((_, { data }) => logs.push(data));
    s.start();
    FakeSocket.all[0].open();
    const ws = FakeSocket.all[0];
    ws.send({ type: 'logs', rank: 0, offset: 0, next: 4, data: 'ab\nx' });
    ws.send({ type: 'logs', rank: 0, offset: 0, next: 4, data: 'ab\nx' }); // repeated
    // Offsets 4..10 hold "é→\n" (2 + 3 + 1 bytes); say 4..9 arrived already (another path).
    s.logOffsets.set(0, 9);
    ws.send({ type: 'logs', rank: 0, offset: 4, next: 10, data: 'é→\n' });
    expect(logs).toEqual(['ab\nx', '\n']);
    expect(s.logOffsets.get(0)).toBe(10);
    s.dispose();
  });

  it('reconnects from its offsets when the server skips ahead (a gap)', () => {
    const s = new RunStream(api(), 'R');
    s.start();
    const ws = FakeSocket.all[0];
    ws.open();
    ws.send({ type: 'logs', rank: 0, offset: 0, next: 3, data: 'ab\n' });
    ws.send({ type: 'logs', rank: 0, offset: 10, next: 12, data: 'z\n' });
    expect(ws.closed).toBe(true);
    vi.advanceTimersByTime(600);
    expect(decodeURIComponent(FakeSocket.all[1].url)).toContain('logs=0:3');
    s.dispose();
  });

  it('passes on how many values the server thinned, and counts them as received', async () => {
    const a = api();
    const s = new RunStream(a, 'R');
    const batches: IMetricBatch[] = [];
    s.metrics.connect((_, batch) => batches.push(batch));
    s.start();
    FakeSocket.all[0].open();
    const loss = (step: number) => ({ name: 'loss', value: step, step, time: 1 });
    // 1,000 values of rank 0 arrive as a sample of 3 (and an event); 997 were left out.
    FakeSocket.all[0].send({
      type: 'metrics',
      rank: 0,
      offset: 0,
      next: 90000,
      records: [loss(0), { event: 'progress', step: 1, total: 2, time: 1 }, loss(500), loss(999)],
      thinned: 997
    });
    expect(batches.map(b => [b.rank, b.records.length, b.thinned])).toEqual([[0, 4, 997]]);
    const store = new MetricStore();
    store.addRecords(0, batches[0].records, batches[0].thinned);
    expect(store.thinned).toBe(997);
    expect(store.count('loss')).toBe(3);
    // Polling (no websocket) then gets every value over REST: only the 2 beyond the 1,000 are new.
    a.getRun = async () => ({ run: RUN, spec: {} }) as never;
    a.logs = (async (_id: string, _rank: number, offset: number) => ({
      offset,
      next: offset,
      data: ''
    })) as never;
    a.metrics = (async () =>
      Array.from({ length: 1002 }, (_, i) => ({
        rank: 0,
        name: 'loss',
        value: i,
        step: i,
        time: 1
      }))) as never;
    await (s as unknown as { _pollOnce(): Promise<void> })._pollOnce();
    expect(batches.length).toBe(2);
    expect(batches[1].records.map(r => ('step' in r ? r.step : null))).toEqual([1000, 1001]);
    s.dispose();
  });

  it('unseenPart handles byte offsets of multi-byte text', () => {
    expect(unseenPart('héllo', 0, 6, 0)).toBe('héllo');
    expect(unseenPart('héllo', 0, 6, 3)).toBe('llo');
    expect(unseenPart('héllo', 0, 6, 6)).toBe(null);
    expect(unseenPart('x', 5, 6, 2)).toBe(null);
  });
});

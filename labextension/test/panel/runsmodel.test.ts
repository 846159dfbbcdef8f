import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IRunRecord, MLTrainAPI } from '../../src/panel/api';
import { RunsModel } from '../../src/panel/runsmodel';

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  close(): void {}
}

function rec(id: string, status: string, created = 1): IRunRecord {
  return { id, status, created, name: id, experiment: 'e', ranks: 1 } as IRunRecord;
}

function model(): RunsModel {
  const api = new MLTrainAPI({
    baseUrl: 'http://h/',
    wsUrl: 'ws://h/',
    token: '',
    appendToken: false
  } as never);
  api.openSocket = (url: string) => new FakeSocket(url) as unknown as WebSocket;
  return new RunsModel(api);
}

describe('runs model', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => vi.useRealTimers());

  it('loads the first list, newest first, without announcing old ends', () => {
    const m = model();
    const ended: string[] = [];
    m.runEnded.connect((_, r) => ended.push(r.id));
    m.start();
    const ws = FakeSocket.all[0];
    expect(ws.url).toBe('ws://h/mltrain/api/runs/stream');
    ws.onopen?.();
    ws.send({
      type: 'runs',
      runs: [rec('a', 'Completed', 1), rec('b', 'Running', 3), rec('c', 'Failed', 2)]
    });
    expect(m.connection).toBe('live');
    expect(m.runs.map(r => r.id)).toEqual(['b', 'c', 'a']);
    expect(m.loaded).toBe(true);
    expect(ended).toEqual([]);
    m.dispose();
  });

  it('announces a live run that goes final, once', () => {
    const m = model();
    const ended: string[] = [];
    m.runEnded.connect((_, r) => ended.push(`${r.id}:${r.status}`));
    m.start();
    const ws = FakeSocket.all[0];
    ws.onopen?.();
    ws.send({ type: 'runs', runs: [rec('b', 'Running')] });
    ws.send({ type: 'run', run: rec('n', 'Queued', 5) });
    ws.send({ type: 'run', run: rec('b', 'Completed') });
    ws.send({ type: 'run', run: rec('b', 'Completed') });
    ws.send({ type: 'run', run: rec('n', 'Failed', 5) });
    expect(ended).toEqual(['b:Completed', 'n:Failed']);
    // A late non-final record never undoes a final one.
    ws.send({ type: 'run', run: rec('b', 'Running') });
    expect(m.get('b')!.status).toBe('Completed');
    m.dispose();
  });

  it('announces a run submitted here even if it ends before it is seen live', () => {
    const m = model();
    const ended: string[] = [];
    m.runEnded.connect((_, r) => ended.push(r.id));
    m.watch('quick');
    m.upsert(rec('quick', 'Completed'));
    expect(ended).toEqual(['quick']);
    m.dispose();
  });

  it('reconnects after a drop and reports ends that happened meanwhile', () => {
    const m = model();
    const ended: string[] = [];
    m.runEnded.connect((_, r) => ended.push(r.id));
    m.start();
    FakeSocket.all[0].onopen?.();
    FakeSocket.all[0].send({ type: 'runs', runs: [rec('b', 'Running')] });
    FakeSocket.all[0].onclose!();
    expect(m.connection).toBe('connecting');
    vi.advanceTimersByTime(2500);
    const ws2 = FakeSocket.all[1];
    ws2.onopen?.();
    ws2.send({ type: 'runs', runs: [rec('b', 'Canceled')] });
    expect(ended).toEqual(['b']);
    m.dispose();
  });
});

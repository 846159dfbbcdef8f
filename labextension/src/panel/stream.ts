// Live data of one run: the `runs/{id}/stream` websocket, resumed from the byte
// offsets already received after any disconnect; REST polling when no websocket
// can be had. Consumers see each byte of each rank's log exactly once, in order.
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { IRunRecord, MLTrainAPI, RunStreamMessage, StreamMetricRecord } from './api';
import { isFinal } from '../common/statuses';

/** How a run's stream gets its data. */
export type ConnectionState = 'connecting' | 'live' | 'polling' | 'ended' | 'closed';

/** One batch of a rank's metric records; `thinned` values of it were left out for drawing. */
export interface IMetricBatch {
  rank: number;
  records: StreamMetricRecord[];
  thinned: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The part of a chunk [offset, next) not yet received when `have` bytes are:
 * the whole text, its tail past `have`, or null when it is all old (or leaves a gap).
 */
export function unseenPart(
  text: string,
  offset: number,
  next: number,
  have: number
): string | null {
  if (next <= have) return null; // all of it seen already
  if (offset > have) return null; // a gap: bytes between would be lost; refetch instead
  if (offset === have) return text;
  const bytes = encoder.encode(text);
  return decoder.decode(bytes.subarray(have - offset));
}

/** Delay before reconnect attempt n (0-based): 0.5 s doubling to 15 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(15000, 500 * 2 ** Math.min(attempt, 5));
}

/** After this many websocket attempts that never opened, fall back to polling. */
export const MAX_FAILED_OPENS = 3;

/** One run's live stream of status, logs and metrics. */
export class RunStream implements IDisposable {
  constructor(
    readonly api: MLTrainAPI,
    readonly id: string
  ) {}

  /** Byte offset of the next log byte per rank. */
  readonly logOffsets = new Map<number, number>();
  /** Byte offset of the next metrics byte per rank. */
  readonly metricOffsets = new Map<number, number>();

  get status(): ISignal<this, IRunRecord> {
    return this._status;
  }
  /** New log text of a rank (never repeated, never missing). */
  get logs(): ISignal<this, { rank: number; data: string }> {
    return this._logs;
  }
  /** New metric records of a rank, and how many values of the batch the server thinned out. */
  get metrics(): ISignal<this, IMetricBatch> {
    return this._metrics;
  }
  get stateChanged(): ISignal<this, ConnectionState> {
    return this._stateChanged;
  }
  get state(): ConnectionState {
    return this._state;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the websocket (or start polling when websockets keep failing). */
  start(): void {
    if (this._disposed || this._state === 'ended') return;
    this._connect();
  }

  /** Feed one stream message (public so the polling fallback and tests share the path). */
  handle(msg: RunStreamMessage): void {
    if (this._disposed) return;
    switch (msg.type) {
      case 'status':
        this._run = msg.run;
        this._status.emit(msg.run);
        break;
      case 'logs': {
        const have = this.logOffsets.get(msg.rank) ?? 0;
        const text = unseenPart(msg.data ?? '', msg.offset, msg.next, have);
        if (text === null) {
          if (msg.offset > have) this._gap = true;
          break;
        }
        this.logOffsets.set(msg.rank, msg.next);
        if (text) this._logs.emit({ rank: msg.rank, data: text });
        break;
      }
      case 'metrics': {
        const have = this.metricOffsets.get(msg.rank) ?? 0;
        // Metric batches are whole JSON lines: a batch is either new or already seen.
        if (msg.next <= have) break;
        if (msg.offset > have) {
          this._gap = true;
          break;
        }
        this.metricOffsets.set(msg.rank, msg.next);
        const thinned = msg.thinned ?? 0;
        const named = (msg.records ?? []).filter(r => !('event' in r)).length + thinned;
        this._metricCounts.set(msg.rank, (this._metricCounts.get(msg.rank) ?? 0) + named);
        if (msg.records?.length || thinned) {
          this._metrics.emit({ rank: msg.rank, records: msg.records ?? [], thinned });
        }
        break;
      }
      case 'end':
        this._setState('ended');
        this._close();
        break;
    }
    if (this._gap && this._state === 'live') {
      // Resume from what we have: the server resends from there.
      this._gap = false;
      this._reconnect(0);
    }
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._close();
    this._setState('closed');
    Signal.clearData(this);
  }

  private _connect(): void {
    this._clearTimer();
    if (this._poll) return;
    this._setState('connecting');
    let ws: WebSocket;
    try {
      ws = this.api.openSocket(this.api.runStreamUrl(this.id, this.logOffsets, this.metricOffsets));
    } catch {
      this._onSocketFailed(false);
      return;
    }
    this._ws = ws;
    // A socket counts as working once a message came: a proxy may accept and close at once.
    let working = false;
    ws.onopen = () => this._setState('live');
    ws.onmessage = (ev: MessageEvent) => {
      if (!working) {
        working = true;
        this._failedOpens = 0;
        this._attempt = 0;
      }
      let msg: RunStreamMessage;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._onSocketFailed(working);
    };
    ws.onerror = () => {
      // onclose follows
    };
  }

  private _onSocketFailed(worked: boolean): void {
    if (this._disposed || this._state === 'ended') return;
    if (!worked) this._failedOpens++;
    if (this._failedOpens >= MAX_FAILED_OPENS) {
      // No websocket here (a proxy, say): poll until the run ends.
      this._close();
      this._startPolling();
      return;
    }
    this._reconnect(this._attempt++);
  }

  private _reconnect(attempt: number): void {
    this._close();
    this._clearTimer();
    if (this._disposed || this._state === 'ended') return;
    this._setState('connecting');
    this._timer = setTimeout(() => this._connect(), reconnectDelay(attempt));
  }

  /** Polling fallback: the same messages, made from REST replies. */
  private _startPolling(): void {
    if (this._poll) return;
    this._poll = new Poll({
      factory: () => this._pollOnce(),
      frequency: { interval: 2000, backoff: true, max: 30000 },
      standby: 'when-hidden',
      name: `mltrain:run-stream:${this.id}`
    });
    this._setState('polling');
  }

  private _stopPolling(): void {
    if (this._poll) {
      this._poll.dispose();
      this._poll = null;
    }
  }

  private async _pollOnce(): Promise<void> {
    if (this._disposed || this._state === 'ended') return;
    const { run } = await this.api.getRun(this.id);
    const final = isFinal(run.status);
    for (let rank = 0; rank < Math.max(1, run.ranks); rank++) {
      // Read each rank up to its end (a few chunks at most per poll).
      for (let i = 0; i < 16; i++) {
        const offset = this.logOffsets.get(rank) ?? 0;
        const chunk = await this.api.logs(this.id, rank, offset);
        if (chunk.next <= offset) break;
        this.handle({ type: 'logs', ...chunk, rank });
      }
    }
    // Metrics have no offsets over REST: send only what is new, counted per rank
    // (the websocket's records before the switch included).
    const points = await this.api.metrics(this.id);
    const byRank = new Map<number, StreamMetricRecord[]>();
    for (const p of points) {
      let list = byRank.get(p.rank);
      if (!list) byRank.set(p.rank, (list = []));
      list.push({ name: p.name, value: p.value, step: p.step, time: p.time });
    }
    for (const [rank, list] of byRank) {
      const seen = this._metricCounts.get(rank) ?? 0;
      if (list.length > seen) {
        this._metricCounts.set(rank, list.length);
        this._metrics.emit({ rank, records: list.slice(seen), thinned: 0 });
      }
    }
    this.handle({ type: 'status', run });
    if (final) {
      this._stopPolling();
      this._setState('ended');
      this._close();
    }
  }

  private _close(): void {
    this._clearTimer();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    if (this._disposed || this._state === 'ended') this._stopPolling();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _setState(s: ConnectionState): void {
    if (this._state === s) return;
    this._state = s;
    this._stateChanged.emit(s);
  }

  /** The latest record received. */
  get run(): IRunRecord | null {
    return this._run;
  }

  private _run: IRunRecord | null = null;
  private _ws: WebSocket | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _poll: Poll | null = null;
  private _attempt = 0;
  private _failedOpens = 0;
  private _gap = false;
  private _metricCounts = new Map<number, number>();
  private _state: ConnectionState = 'closed';
  private _disposed = false;
  private _status = new Signal<this, IRunRecord>(this);
  private _logs = new Signal<this, { rank: number; data: string }>(this);
  private _metrics = new Signal<this, IMetricBatch>(this);
  private _stateChanged = new Signal<this, ConnectionState>(this);
}

// Every run the server knows, kept current by the `runs/stream` websocket; polling
// `GET runs` with backoff while no websocket can be had.
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { IRunRecord, MLTrainAPI, RunsStreamMessage } from './api';
import { isFinal } from '../common/statuses';
import { reconnectDelay } from './stream';

/** Runs asked for by a poll (the websocket's first message has the newest 200 too). */
export const LIST_LIMIT = 200;

/** How the run list gets its updates. */
export type ListConnection = 'connecting' | 'live' | 'polling' | 'closed';

/** Every run of the store, live: the runs stream, or polling when no websocket can be had. */
export class RunsModel implements IDisposable {
  constructor(readonly api: MLTrainAPI) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      standby: 'when-hidden',
      name: 'mltrain:runs'
    });
  }

  /** Runs, newest first. */
  get runs(): IRunRecord[] {
    if (!this._sorted) {
      this._sorted = [...this._runs.values()].sort(
        (a, b) => b.created - a.created || b.id.localeCompare(a.id)
      );
    }
    return this._sorted;
  }

  get(id: string): IRunRecord | undefined {
    return this._runs.get(id);
  }

  /** Emitted after any run was added or changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A run seen live went final (for notifications). */
  get runEnded(): ISignal<this, IRunRecord> {
    return this._runEnded;
  }

  get connectionChanged(): ISignal<this, ListConnection> {
    return this._connectionChanged;
  }

  get connection(): ListConnection {
    return this._connection;
  }

  /** An error of the last fetch ('' when fine). */
  get error(): string {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Connect (idempotent). */
  start(): void {
    if (this._started || this._disposed) return;
    this._started = true;
    this._connect();
  }

  /** Fetch the list once now (the refresh button; also works while live). */
  async refresh(): Promise<void> {
    await this._fetch();
  }

  /** Merge one record (a stream message, a submit or cancel reply). */
  upsert(run: IRunRecord, emit = true): void {
    const old = this._runs.get(run.id);
    if (old && isFinal(old.status) && !isFinal(run.status)) return; // a stale record
    this._runs.set(run.id, run);
    this._sorted = null;
    if (old && !isFinal(old.status) && isFinal(run.status)) this._runEnded.emit(run);
    else if (!old && isFinal(run.status) && this._watch.has(run.id)) this._runEnded.emit(run);
    if (!isFinal(run.status)) this._watch.add(run.id);
    if (emit) this._changed.emit();
  }

  /** Report the end of this run even if it ends before the list hears of it live. */
  watch(id: string): void {
    this._watch.add(id);
  }

  /** Replace the newest runs by a full list (first stream message, or a poll). */
  private _load(runs: IRunRecord[], emitEnds: boolean): void {
    for (const r of runs) {
      const old = this._runs.get(r.id);
      if (!emitEnds && !old) {
        this._runs.set(r.id, r);
        if (!isFinal(r.status)) this._watch.add(r.id);
        continue;
      }
      this.upsert(r, false);
    }
    this._sorted = null;
    this._loaded = true;
    this._changed.emit();
  }

  /** Whether the first list arrived. */
  get loaded(): boolean {
    return this._loaded;
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._closeSocket();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _connect(): void {
    this._timer = null;
    if (this._disposed) return;
    if (this._connection !== 'polling') this._setConnection('connecting');
    let ws: WebSocket;
    try {
      ws = this.api.openSocket(this.api.runsStreamUrl());
    } catch {
      this._socketFailed(false);
      return;
    }
    this._ws = ws;
    // A socket counts as working once a message came: a proxy may accept and close at once.
    let working = false;
    ws.onmessage = (ev: MessageEvent) => {
      if (!working) {
        working = true;
        this._attempt = 0;
        this._error = '';
        void this._poll.stop();
        this._setConnection('live');
      }
      let msg: RunsStreamMessage;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.type === 'runs') this._load(msg.runs ?? [], this._loaded);
      else if (msg.type === 'run' && msg.run) this.upsert(msg.run);
    };
    ws.onclose = () => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._socketFailed(working);
    };
  }

  private _socketFailed(hadOpened: boolean): void {
    if (this._disposed) return;
    // Poll while the websocket is down (at once when it never opened), and keep trying it.
    if (!hadOpened || this._attempt > 0) {
      this._setConnection('polling');
      if (!this._poll.isDisposed) void this._poll.start();
    } else {
      this._setConnection('connecting');
    }
    this._timer = setTimeout(() => this._connect(), reconnectDelay(this._attempt++) * 4);
  }

  private async _fetch(): Promise<void> {
    try {
      const list = await this.api.listRuns({ limit: LIST_LIMIT });
      this._error = '';
      this._load(list.runs ?? [], this._loaded);
    } catch (err) {
      this._error = (err as Error).message;
      this._changed.emit();
      throw err; // the poll backs off
    }
  }

  private _closeSocket(): void {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
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
  }

  private _setConnection(c: ListConnection): void {
    if (this._connection === c) return;
    this._connection = c;
    this._connectionChanged.emit(c);
  }

  private _runs = new Map<string, IRunRecord>();
  private _sorted: IRunRecord[] | null = null;
  private _watch = new Set<string>();
  private _ws: WebSocket | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _attempt = 0;
  private _poll: Poll;
  private _started = false;
  private _loaded = false;
  private _error = '';
  private _disposed = false;
  private _connection: ListConnection = 'closed';
  private _changed = new Signal<this, void>(this);
  private _runEnded = new Signal<this, IRunRecord>(this);
  private _connectionChanged = new Signal<this, ListConnection>(this);
}

// @vitest-environment happy-dom
// The widget drawn from a fake anywidget model: what the notebook's UI tests select on.
import { afterEach, describe, expect, it, vi } from 'vitest';
import widget from '../../src/widget/index';

type Handler = (...args: unknown[]) => void;

class FakeModel {
  constructor(public values: Record<string, unknown>) {}
  sent: unknown[] = [];
  handlers = new Map<string, Handler[]>();
  get(name: string): unknown {
    return this.values[name];
  }
  set(name: string, value: unknown): void {
    this.values[name] = value;
    for (const cb of this.handlers.get(`change:${name}`) ?? []) cb();
  }
  on(event: string, cb: Handler): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), cb]);
  }
  off(event: string, cb: Handler): void {
    this.handlers.set(
      event,
      (this.handlers.get(event) ?? []).filter(h => h !== cb)
    );
  }
  send(msg: unknown): void {
    this.sent.push(msg);
  }
  emit(msg: unknown): void {
    for (const cb of this.handlers.get('msg:custom') ?? []) cb(msg);
  }
}

const frame = (): Promise<void> => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.replaceChildren();
});

function mount(values: Record<string, unknown>): { model: FakeModel; el: HTMLElement } {
  const model = new FakeModel({ ranks: 1, stages: {}, progress: {}, ...values });
  const el = document.createElement('div');
  document.body.append(el);
  cleanup = widget.render({ model, el });
  return { model, el };
}

const q = (el: HTMLElement, sel: string): HTMLElement => el.querySelector(sel) as HTMLElement;

describe('run widget', () => {
  it('shows status, name and the log with ANSI colours as classes', async () => {
    const { model, el } = mount({
      run_id: 'r1',
      run_name: 'demo',
      status: 'Running',
      history: { seq: 1, logs: { '0': ['\x1b[32mstep 0\x1b[0m rank 0', 'plain <b>'] } }
    });
    expect(model.sent).toEqual([{ type: 'sync' }]);
    await frame();
    expect(q(el, '[data-testid=mltrain-status]').textContent).toBe('Running');
    expect(q(el, '.mltrain-name').textContent).toBe('demo');
    const lines = el.querySelectorAll('[data-testid=mltrain-log] .mltrain-line');
    expect(lines.length).toBe(2);
    expect(lines[0].innerHTML).toBe('<span class="ansi-green-fg">step 0</span> rank 0');
    expect(lines[1].textContent).toBe('plain <b>');
  });

  it('names the attempt of a restarted run and lists the earlier attempts with their causes', async () => {
    const { model, el } = mount({ status: 'Running', attempt: 1, attempts: [] });
    await frame();
    expect(q(el, '[data-testid=mltrain-status]').textContent).toBe('Running');
    expect(q(el, '[data-testid=mltrain-attempts-wrap]').hidden).toBe(true);
    model.set('attempt', 2);
    model.set('attempts', [
      {
        attempt: 1,
        started: 1700000000,
        ended: 1700000010,
        root_cause: { message: 'rank 0 exited with code 3', rank: 0, error: 'SystemExit: 3' },
        exit_codes: [3]
      }
    ]);
    await frame();
    expect(q(el, '[data-testid=mltrain-status]').textContent).toBe('Running (attempt 2)');
    const box = q(el, '[data-testid=mltrain-attempts-wrap]');
    expect(box.hidden).toBe(false);
    const item = q(box, '[data-attempt="1"]');
    expect(item.textContent).toContain('Attempt 1, ended ');
    expect(q(item, '.mltrain-attempt-error').textContent).toBe('SystemExit: 3');
    expect(item.textContent).toContain('rank 0 exited with code 3');
  });

  it('appends the next delta, asks for a fresh history on a gap', async () => {
    const { model, el } = mount({ status: 'Running', history: { seq: 1, logs: { '0': ['a'] } } });
    model.emit({ type: 'delta', seq: 2, logs: { '0': ['b'] } });
    await frame();
    expect(el.querySelectorAll('.mltrain-line').length).toBe(2);
    // A fresh history ends the wait for one; the next gap asks again.
    model.set('history', { seq: 3, logs: { '0': ['a', 'b', 'c'] } });
    model.sent = [];
    model.emit({ type: 'delta', seq: 5, logs: { '0': ['lost'] } });
    expect(model.sent).toEqual([{ type: 'sync' }]);
    await frame();
    expect(el.querySelectorAll('.mltrain-line').length).toBe(3);
  });

  it('keeps deltas that overtake their history and applies them on top of it', async () => {
    // No numbered history yet (or a `history` change still being deserialized): deltas 3 and 4 wait.
    const { model, el } = mount({ status: 'Running', history: {} });
    model.emit({ type: 'delta', seq: 3, logs: { '0': ['c'] } });
    model.emit({ type: 'delta', seq: 4, logs: { '0': ['d'] } });
    await frame();
    expect(el.querySelectorAll('.mltrain-line').length).toBe(0);
    model.set('history', { seq: 2, logs: { '0': ['a', 'b'] } });
    await frame();
    const lines = [...el.querySelectorAll('.mltrain-line')].map(l => l.textContent);
    expect(lines).toEqual(['a', 'b', 'c', 'd']);
    // In step again: the next delta follows on, without asking.
    model.sent = [];
    model.emit({ type: 'delta', seq: 5, logs: { '0': ['e'] } });
    await frame();
    expect(el.querySelectorAll('.mltrain-line').length).toBe(5);
    expect(model.sent).toEqual([]);
  });

  it('while behind, asks again less and less often until a history comes, also with no more deltas', () => {
    vi.useFakeTimers();
    try {
      const { model } = mount({ status: 'Running', history: { seq: 0, logs: {} } });
      expect(model.sent).toEqual([{ type: 'sync' }]); // on render
      model.sent = [];
      model.emit({ type: 'delta', seq: 2, logs: { '0': ['b'] } }); // delta 1 was missed
      expect(model.sent).toEqual([]); // just asked
      vi.advanceTimersByTime(1000);
      expect(model.sent).toEqual([{ type: 'sync' }]);
      vi.advanceTimersByTime(1999);
      expect(model.sent.length).toBe(1);
      vi.advanceTimersByTime(1);
      expect(model.sent.length).toBe(2);
      model.set('history', { seq: 2, logs: { '0': ['a', 'b'] } });
      vi.advanceTimersByTime(60_000);
      expect(model.sent.length).toBe(2); // caught up: no more asking
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks before it cancels', () => {
    const { model, el } = mount({ status: 'Running', history: { seq: 1 } });
    model.sent = [];
    q(el, '[data-testid=mltrain-cancel]').click();
    q(el, '[data-testid=mltrain-cancel-no]').click();
    expect(model.sent).toEqual([]);
    q(el, '[data-testid=mltrain-cancel]').click();
    q(el, '[data-testid=mltrain-cancel-yes]').click();
    expect(model.sent).toEqual([{ type: 'cancel' }]);
    expect(q(el, '[data-testid=mltrain-cancel]').textContent).toBe('Canceling…');
  });

  it('shows progress, the root cause of a failure and the outputs', async () => {
    const { model, el } = mount({ status: 'Running', progress: { step: 5, total: 10 } });
    expect(q(el, '[data-testid=mltrain-progress]').textContent).toContain('step 5 / 10');
    model.set('root_cause', {
      message: 'boom',
      rank: 1,
      signal: 9,
      traceback: '\x1b[31mTraceback\x1b[0m\n  x'
    });
    model.set('outputs', [{ path: 'model.txt', size: 2048 }]);
    model.set('status', 'Failed');
    await Promise.resolve();
    const rc = q(el, '[data-testid=mltrain-root-cause]');
    expect(rc.hidden).toBe(false);
    expect(rc.textContent).toContain('SIGKILL (9)');
    expect(q(rc, '.mltrain-rc-traceback').innerHTML).toContain('class="ansi-red-fg"');
    expect(q(el, '[data-testid=mltrain-outputs]').textContent).toContain('2.00 KiB');
    expect(q(el, '[data-testid=mltrain-cancel]').hidden).toBe(true);
  });

  it('headlines the exception, tables every rank and shows the stderr tail as a terminal would', async () => {
    const { model, el } = mount({ status: 'Running', ranks: 3 });
    const scrollHeight = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'scrollHeight');
    Object.defineProperty(HTMLElement.prototype, 'scrollHeight', {
      configurable: true,
      get: () => 480
    });
    try {
      model.set('root_cause', {
        message: 'rank 1 (worker) on host exited with code 1: ValueError: bad shape',
        error: 'ValueError: bad shape',
        rank: 1,
        host: 'host',
        exit_code: 1,
        stderr_tail: 'epoch 1\r 10%|#   |\r 90%|### |\r100%|####|\nValueError: bad shape\n'
      });
      model.set('exit_codes', [-15, 1, null]);
      model.set('status', 'Failed');
      await Promise.resolve();
      const rc = q(el, '[data-testid=mltrain-root-cause]');
      const title = q(rc, '.mltrain-rc-title');
      // The exception first, then where and how: the message no longer repeats it.
      expect(q(title, '[data-testid=mltrain-rc-error]').textContent).toBe('ValueError: bad shape');
      expect(rc.firstElementChild).toBe(title);
      const message = q(rc, 'div.mltrain-rc-message');
      expect(message.textContent).toBe('rank 1 (worker) on host exited with code 1');
      expect(
        title.compareDocumentPosition(message) & Node.DOCUMENT_POSITION_FOLLOWING
      ).toBeTruthy();
      // One row per rank: rank, status, exit code or signal name.
      const rows = [...rc.querySelectorAll('[data-testid=mltrain-rank-table] tbody tr')].map(tr =>
        [...tr.querySelectorAll('td')].map(td => td.textContent)
      );
      expect(rows).toEqual([
        ['0', 'stopped by the supervisor', 'SIGTERM (15)'],
        ['1', 'exited', 'exit code 1'],
        ['2', 'never reported', '–']
      ]);
      // The progress bar shows its last state only, and the tail is scrolled to its end.
      const stderr = q(rc, '[data-testid=mltrain-rc-stderr]');
      expect(stderr.textContent).toBe('100%|####|\nValueError: bad shape');
      expect(stderr.scrollTop).toBe(480);
    } finally {
      if (scrollHeight) Object.defineProperty(HTMLElement.prototype, 'scrollHeight', scrollHeight);
      else delete (HTMLElement.prototype as unknown as Record<string, unknown>).scrollHeight;
    }
  });
});

// @vitest-environment happy-dom
// The widget drawn from a fake anywidget model: what the notebook's UI tests select on.
import { afterEach, describe, expect, it } from 'vitest';
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
});

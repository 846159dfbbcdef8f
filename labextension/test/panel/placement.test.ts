// @vitest-environment happy-dom
import { Panel, SplitPanel, TabPanel, Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it } from 'vitest';
import { IShellLike, placeView } from '../../src/panel/placement';

/** A shell with the given areas; `mainTakesOne`: its main area keeps only its first widget (Notebook 7). */
class FakeShell implements IShellLike {
  constructor(
    areas: string[],
    private readonly mainTakesOne: boolean
  ) {
    // As in Notebook 7: the page above, the down area's tabs below, in a vertical split.
    this.split.addWidget(new Panel());
    for (const a of areas) {
      const w = a === 'down' ? new TabPanel() : new Panel();
      this.areas.set(a, w);
      if (a === 'down') this.split.addWidget(w);
      else Widget.attach(w, document.body);
    }
    Widget.attach(this.split, document.body);
    this.split.setRelativeSizes([1, 0]);
  }
  split = new SplitPanel({ orientation: 'vertical' });
  areas = new Map<string, Panel | TabPanel>();
  activated: string[] = [];
  add(widget: Widget, area = 'main'): void {
    const panel = this.areas.get(area);
    if (!panel) return; // "Cannot add widget to area"
    if (area === 'main' && this.mainTakesOne && panel.widgets.length > 0) return;
    panel.addWidget(widget);
  }
  activateById(id: string): void {
    this.activated.push(id);
  }
  dispose(): void {
    for (const w of this.areas.values()) w.dispose();
    this.split.dispose();
  }
}

function view(id: string): Widget {
  const w = new Widget();
  w.id = id;
  return w;
}

let shell: FakeShell | null = null;
afterEach(() => shell?.dispose());

describe('placing a run view', () => {
  it('opens a main-area tab where the main area is a dock (JupyterLab)', () => {
    shell = new FakeShell(['main', 'down', 'right'], false);
    shell.add(view('notebook'), 'main');
    const w = view('run-a');
    expect(placeView(shell, w)).toBe('main');
    expect(shell.areas.get('main')!.widgets).toContain(w);
    expect(shell.activated).toEqual(['run-a']);
  });

  it('opens in the down area, its tab selected, where the main area holds the page (Notebook 7)', () => {
    shell = new FakeShell(['main', 'down', 'left', 'right'], true);
    shell.add(view('notebook'), 'main');
    const a = view('run-a');
    const b = view('run-b');
    expect(placeView(shell, a)).toBe('down');
    expect(placeView(shell, b)).toBe('down');
    const down = shell.areas.get('down') as TabPanel;
    expect(down.widgets).toEqual([a, b]);
    expect(down.currentWidget).toBe(b);
    // The down area opens with room for the view, not as a bare tab bar.
    expect(shell.split.relativeSizes()[1]).toBeGreaterThan(0.5);
    expect(shell.areas.get('main')!.widgets.map(w => w.id)).toEqual(['notebook']);
  });

  it('falls back to the right side area where there is no down area (Notebook 7.0)', () => {
    shell = new FakeShell(['main', 'left', 'right'], true);
    shell.add(view('notebook'), 'main');
    const w = view('run-a');
    expect(placeView(shell, w)).toBe('right');
    expect(w.parent).toBe(shell.areas.get('right'));
    expect(shell.activated).toEqual(['run-a']);
  });

  it('says so when no area takes it, and activates nothing', () => {
    shell = new FakeShell(['main'], true);
    shell.add(view('notebook'), 'main');
    expect(placeView(shell, view('run-a'))).toBeNull();
    expect(shell.activated).toEqual([]);
  });
});

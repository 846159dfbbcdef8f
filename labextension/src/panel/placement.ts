// Where a run or compare view opens. JupyterLab's main area is a dock that takes any number
// of tabs. Notebook 7's main area holds the page's one notebook or file browser and silently
// ignores any other widget added there; it has a "down" area of closable tabs under the page
// (7.1 and later) and left and right side areas.
import { SplitPanel, TabPanel, Widget } from '@lumino/widgets';

/** The part of an application shell a view is placed with. */
export interface IShellLike {
  add(
    widget: Widget,
    area?: string,
    options?: { rank?: number; type?: string; activate?: boolean }
  ): void;
  activateById(id: string): void;
}

/** Where a view was placed: a main-area tab, the down area, the right side area, or nowhere. */
export type Placement = 'main' | 'down' | 'right' | null;

/** The share of its split a tab-panel area (Notebook 7's down area) gets when a view opens in it. */
export const DOWN_SHARE = 0.55;

/** The areas tried, in order: the first that takes the widget keeps it. */
export const AREAS: readonly Exclude<Placement, null>[] = ['main', 'down', 'right'];

/**
 * Add `widget` to the main area or, where the shell has no room for it there (Notebook 7),
 * to the down area, else the right side area; then show it. Returns where it went.
 * `type` names the widget kind for the shell's layout settings.
 */
export function placeView(
  shell: IShellLike,
  widget: Widget,
  options: { activate?: boolean; type?: string } = {}
): Placement {
  let placed: Placement = null;
  for (const area of AREAS) {
    // A shell without the area warns and leaves the widget unattached.
    shell.add(widget, area, { rank: 50, type: options.type, activate: options.activate });
    if (widget.parent) {
      placed = area;
      break;
    }
  }
  if (placed && options.activate !== false) {
    shell.activateById(widget.id);
    // In a tab panel (Notebook 7's down area) activating a widget does not select its tab.
    const tabs = widget.parent?.parent;
    if (tabs instanceof TabPanel) {
      tabs.currentWidget = widget;
      // It opens as a bare tab bar: give it room (unless the user already has).
      const split = tabs.parent;
      if (split instanceof SplitPanel) {
        const i = split.widgets.indexOf(tabs);
        const sizes = split.relativeSizes();
        if (i >= 0 && sizes.length > 1 && !(sizes[i] >= 0.3)) {
          const rest = (1 - DOWN_SHARE) / (sizes.length - 1);
          split.setRelativeSizes(sizes.map((_, k) => (k === i ? DOWN_SHARE : rest)));
        }
      }
    }
  }
  return placed;
}

// The head row every section of the widget starts with: its title, then its controls.
import { Child, h } from '../common/dom';

/** A section's head row: the title, then `rest`; `cls` is the row's class. */
export function sectionHead(title: string, cls: string, ...rest: Child[]): HTMLDivElement {
  return h('div', { class: cls }, h('span', { class: 'mltrain-section-title' }, title), ...rest);
}

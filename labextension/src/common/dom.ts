// A small DOM builder for the widget and the panel: h('div', {class: 'x', onclick: f}, child, 'text').

/** Attributes of `h`: values null/undefined/false are left out, true is an empty attribute. */
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Children of `h`: nodes, or text; null/undefined/false are left out. */
export type Child = Node | string | number | null | undefined | false;

/**
 * A DOM element: `on*` function attributes become listeners, `text` the text content,
 * every other attribute is set as a string.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        node.addEventListener(k.slice(2), v as EventListener);
      } else if (k === 'text') {
        node.textContent = String(v);
      } else {
        node.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

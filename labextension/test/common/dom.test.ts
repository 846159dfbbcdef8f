// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { h } from '../../src/common/dom';

describe('h', () => {
  it('builds an element with attributes, text and children', () => {
    const el = h(
      'div',
      { class: 'a', 'data-testid': 't', tabindex: 0 },
      h('b', null, 'x'),
      ' y',
      3
    );
    expect(el.outerHTML).toBe('<div class="a" data-testid="t" tabindex="0"><b>x</b> y3</div>');
  });

  it('leaves out null, undefined and false; true is an empty attribute', () => {
    const el = h(
      'button',
      { hidden: true, disabled: false, title: null, id: undefined },
      null,
      false
    );
    expect(el.outerHTML).toBe('<button hidden=""></button>');
  });

  it('sets text as text, never as HTML', () => {
    expect(h('span', { text: '<i>' }).innerHTML).toBe('&lt;i&gt;');
    expect(h('span', null, '<i>').children.length).toBe(0);
  });

  it('adds on* functions as listeners', () => {
    const onclick = vi.fn();
    const el = h('button', { onclick });
    el.click();
    expect(onclick).toHaveBeenCalledOnce();
    expect(el.hasAttribute('onclick')).toBe(false);
  });
});

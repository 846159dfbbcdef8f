import { describe, expect, it } from 'vitest';
import { ansiBlockToHtml, ansiToHtml, stripAnsi } from '../../src/common/ansi';

describe('ANSI to HTML', () => {
  it('escapes HTML in plain text', () => {
    expect(ansiToHtml('<b>&"x"</b>')).toBe('&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;');
  });

  it('renders the 16 basic colours as classes (the theme colours them) and escapes inside', () => {
    const html = ansiToHtml('\x1b[31mred <x>\x1b[0m plain');
    expect(html).toBe('<span class="ansi-red-fg">red &lt;x&gt;</span> plain');
    expect(ansiToHtml('\x1b[92;44mx')).toBe(
      '<span class="ansi-bright-green-fg ansi-blue-bg">x</span>'
    );
  });

  it('renders 256-colour and truecolor output inline', () => {
    expect(ansiToHtml('\x1b[38;5;208morange')).toBe(
      '<span style="color:rgb(255,135,0)">orange</span>'
    );
    expect(ansiToHtml('\x1b[38;2;1;2;3mrgb')).toBe('<span style="color:rgb(1,2,3)">rgb</span>');
    // The first 16 of the 256 palette are the basic colours, as classes.
    expect(ansiToHtml('\x1b[38;5;1mred')).toBe('<span class="ansi-red-fg">red</span>');
  });

  it('does not leak an unclosed colour into the next line', () => {
    ansiToHtml('\x1b[32mgreen without reset');
    expect(ansiToHtml('next line')).toBe('next line');
    expect(ansiToHtml('\x1b[1mbold')).toContain('font-weight:bold');
    expect(ansiToHtml('\x1b[0mafter')).toBe('after');
  });

  it('renders a block line by line', () => {
    expect(ansiBlockToHtml('\x1b[31mTraceback\n  <module>')).toBe(
      '<span class="ansi-red-fg">Traceback</span>\n  &lt;module&gt;'
    );
  });

  it('strips escape sequences for search', () => {
    expect(stripAnsi('\x1b[1;31mError\x1b[0m: \x1b[2Kboom')).toBe('Error: boom');
    expect(stripAnsi('\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\')).toBe('link');
    expect(stripAnsi('none')).toBe('none');
  });
});

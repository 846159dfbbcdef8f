import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/common/escape';

describe('escapeHtml', () => {
  it('escapes the five characters that matter in HTML text and attributes', () => {
    expect(escapeHtml('<b>&"x"</b>')).toBe('&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;');
    expect(escapeHtml("'")).toBe('&#x27;');
  });

  it('leaves plain text alone and takes any value', () => {
    expect(escapeHtml('rank 0 step 3')).toBe('rank 0 step 3');
    expect(escapeHtml(3)).toBe('3');
  });
});

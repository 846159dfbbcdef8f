// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { RunLabels, tagList, withTags } from '../../src/widget/labels';

function setup(): { labels: RunLabels; sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  const labels = new RunLabels(msg => sent.push(msg));
  document.body.append(labels.root);
  return { labels, sent };
}

const q = (root: HTMLElement, testid: string): HTMLElement[] => [
  ...root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)
];

describe('tag lists', () => {
  it('reads a trait as trimmed tags once each and adds comma-separated ones', () => {
    expect(tagList([' a', 'b', 'a', '', 3])).toEqual(['a', 'b', '3']);
    expect(tagList(null)).toEqual([]);
    expect(withTags(['a'], ' b, a ,, c ')).toEqual(['a', 'b', 'c']);
  });
});

describe("the widget header's tags and note", () => {
  it('shows the tags as chips and the note', () => {
    const { labels } = setup();
    labels.update(['baseline', 'lr'], 'first try');
    expect(q(labels.root, 'mltrain-widget-tag').map(e => e.dataset.tag)).toEqual([
      'baseline',
      'lr'
    ]);
    expect(q(labels.root, 'mltrain-widget-note')[0].textContent).toBe('first try');
    expect(q(labels.root, 'mltrain-widget-note-edit')[0].textContent).toBe('Edit note');
  });

  it('sends the tags with one added (Enter) or removed (×)', () => {
    const { labels, sent } = setup();
    labels.update(['baseline'], '');
    const input = q(labels.root, 'mltrain-widget-tag-input')[0] as HTMLInputElement;
    input.value = 'lr-sweep, baseline';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(sent).toEqual([{ type: 'labels', tags: ['baseline', 'lr-sweep'] }]);
    expect(input.value).toBe('');
    input.value = 'baseline';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(sent.length).toBe(1); // nothing new: nothing sent
    q(labels.root, 'mltrain-widget-tag')[0].querySelector('button')!.click();
    expect(sent[1]).toEqual({ type: 'labels', tags: [] });
  });

  it('edits the note in a box and sends it on Save; the error of a refused one is shown', () => {
    const { labels, sent } = setup();
    labels.update([], 'old');
    q(labels.root, 'mltrain-widget-note-edit')[0].click();
    const box = q(labels.root, 'mltrain-widget-note-input')[0] as HTMLTextAreaElement;
    expect(box.value).toBe('old');
    box.value = 'new note';
    q(labels.root, 'mltrain-widget-note-save')[0].click();
    expect(sent).toEqual([{ type: 'labels', note: 'new note' }]);
    const error = q(labels.root, 'mltrain-widget-labels-error')[0];
    labels.showResult({
      type: 'labels',
      error: 'note: 20000 characters; a note holds at most 10000'
    });
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain('at most 10000');
    labels.showResult({ type: 'labels', error: '' });
    expect(error.hidden).toBe(true);
  });
});

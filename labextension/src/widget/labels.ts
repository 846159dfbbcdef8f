// The run's tags and note in the widget's header: tags as chips (× removes one, the box adds
// one), the note with an Edit button. Each change goes to the kernel as a `labels` message
// (jupyter_mltrain/widget/model.py sets Run.tags / Run.note); the traits bring the result back.
import { h } from '../common/dom';
import { str } from './traits';

/** The tags of a trait value: its non-empty strings, once each, in order. */
export function tagList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return [...new Set(v.map(t => str(t).trim()).filter(Boolean))];
}

/** `tags` with the comma-separated tags of `text` added (once each, in order). */
export function withTags(tags: readonly string[], text: string): string[] {
  const added = text
    .split(',')
    .map(t => t.trim())
    .filter(Boolean);
  return [...new Set([...tags, ...added])];
}

/** A run's tags and note, editable; `send(msg)` sends a `labels` message to the kernel. */
export class RunLabels {
  constructor(private readonly send: (msg: Record<string, unknown>) => void) {
    this.tagsEl = h('span', { class: 'mltrain-labels-tags' });
    this.tagInput = h('input', {
      class: 'mltrain-input mltrain-tag-input',
      'data-testid': 'mltrain-widget-tag-input',
      placeholder: '+ tag',
      'aria-label': 'Add tags (Enter; commas separate several)',
      size: 8
    });
    this.tagInput.addEventListener('keydown', e => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      const next = withTags(this.tags, this.tagInput.value);
      this.tagInput.value = '';
      if (next.length !== this.tags.length) this._send({ tags: next });
    });
    this.noteText = h('span', { class: 'mltrain-run-note', 'data-testid': 'mltrain-widget-note' });
    this.noteInput = h('textarea', {
      class: 'mltrain-input mltrain-note-input',
      'data-testid': 'mltrain-widget-note-input',
      rows: 3,
      'aria-label': 'Note'
    });
    this.editBtn = h(
      'button',
      {
        type: 'button',
        class: 'mltrain-button mltrain-link-button',
        'data-testid': 'mltrain-widget-note-edit',
        onclick: () => this._editing(true)
      },
      '+ note'
    );
    const save = h(
      'button',
      { type: 'button', class: 'mltrain-button', 'data-testid': 'mltrain-widget-note-save' },
      'Save'
    );
    save.addEventListener('click', () => {
      this._send({ note: this.noteInput.value });
      this._editing(false);
    });
    const cancel = h('button', { type: 'button', class: 'mltrain-button' }, 'Cancel');
    cancel.addEventListener('click', () => this._editing(false));
    this.noteForm = h(
      'span',
      { class: 'mltrain-note-form', hidden: true },
      this.noteInput,
      save,
      cancel
    );
    this.error = h('span', {
      class: 'mltrain-error',
      'data-testid': 'mltrain-widget-labels-error',
      role: 'alert',
      hidden: true
    });
    this.root = h(
      'div',
      { class: 'mltrain-run-labels', 'data-testid': 'mltrain-widget-labels' },
      this.tagsEl,
      this.tagInput,
      this.noteText,
      this.editBtn,
      this.noteForm,
      this.error
    );
  }

  /** The row's element. */
  readonly root: HTMLDivElement;

  /** The run's tags and note (traits `tags`, `note`). */
  update(tags: unknown, note: unknown): void {
    const list = tagList(tags);
    const text = str(note);
    if (list.join('\0') === this.tags.join('\0') && text === this.note && this.drawn) return;
    this.drawn = true;
    this.tags = list;
    this.note = text;
    this.tagsEl.replaceChildren(
      ...list.map(t =>
        h(
          'span',
          { class: 'mltrain-badge', 'data-testid': 'mltrain-widget-tag', 'data-tag': t },
          t,
          h(
            'button',
            {
              type: 'button',
              class: 'mltrain-tag-remove',
              title: `Remove tag ${t}`,
              'aria-label': `Remove tag ${t}`,
              onclick: () => this._send({ tags: this.tags.filter(x => x !== t) })
            },
            '×'
          )
        )
      )
    );
    this.noteText.textContent = text;
    this.noteText.hidden = text === '';
    this.editBtn.textContent = text ? 'Edit note' : '+ note';
  }

  /** The kernel's answer to a `labels` message: an error to show, or '' when it was saved. */
  showResult(msg: Record<string, unknown>): void {
    const error = str(msg.error);
    this.error.textContent = error;
    this.error.hidden = error === '';
  }

  private _send(change: Record<string, unknown>): void {
    this.error.hidden = true;
    this.send({ type: 'labels', ...change });
  }

  private _editing(on: boolean): void {
    if (on) this.noteInput.value = this.note;
    this.noteForm.hidden = !on;
    this.editBtn.hidden = on;
    this.noteText.hidden = on || this.note === '';
    if (on) this.noteInput.focus();
  }

  private tags: string[] = [];
  private note = '';
  private drawn = false;
  private tagsEl: HTMLSpanElement;
  private tagInput: HTMLInputElement;
  private noteText: HTMLSpanElement;
  private noteInput: HTMLTextAreaElement;
  private editBtn: HTMLButtonElement;
  private noteForm: HTMLSpanElement;
  private error: HTMLSpanElement;
}

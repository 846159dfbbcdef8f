// "Register model": a Completed run with outputs registers one of them as the next version of
// a model, through the kernel (widget/model.py `register`); the result comes back in `registered`.
import { h } from '../common/dom';
import { sectionHead } from './section';
import { num, obj, str } from './traits';

/** The path to register by default: `outputs/model` when the run wrote it, else all of `outputs`. */
export function defaultModelPath(outputs: unknown): string {
  const paths = (Array.isArray(outputs) ? outputs : []).map(o => str(obj(o).path));
  return paths.some(p => p === 'model' || p.startsWith('model/')) ? 'outputs/model' : 'outputs';
}

/** The register form and its last result. */
export class RegisterBox {
  constructor(private readonly send: (msg: unknown) => void) {
    const input = (name: string, placeholder: string, label: string): HTMLInputElement =>
      h('input', {
        class: 'mltrain-input',
        'data-testid': `mltrain-register-${name}`,
        placeholder,
        'aria-label': label
      });
    this.name = input('name', 'model name', 'Model name');
    this.alias = input('alias', 'alias (optional)', 'Alias');
    this.path = input('path', 'outputs/model', 'Path in the run');
    this.button = h(
      'button',
      {
        class: 'mltrain-button',
        'data-testid': 'mltrain-register-button',
        onclick: () => this._submit()
      },
      'Register model'
    );
    this.result = h('span', {
      class: 'mltrain-register-result',
      'data-testid': 'mltrain-registered'
    });
    this.name.addEventListener('keydown', e => {
      if (e.key === 'Enter') this._submit();
    });
    this.root = h(
      'div',
      {
        class: 'mltrain-section mltrain-register',
        'data-testid': 'mltrain-register',
        hidden: true
      },
      sectionHead('Model', 'mltrain-section-head'),
      h(
        'div',
        { class: 'mltrain-register-row' },
        this.name,
        this.alias,
        this.path,
        this.button,
        this.result
      )
    );
  }

  /** Shown for a Completed run with outputs. */
  update(status: unknown, outputs: unknown): void {
    const show = status === 'Completed' && Array.isArray(outputs) && outputs.length > 0;
    this.root.hidden = !show;
    if (show && !this.path.value) this.path.value = defaultModelPath(outputs);
  }

  /** Show the kernel's answer. */
  showResult(registered: unknown): void {
    const r = obj(registered);
    this.button.disabled = false;
    this.result.classList.toggle('mltrain-error-text', r.state === 'error');
    if (r.state === 'done') {
      const aliases =
        Array.isArray(r.aliases) && r.aliases.length ? ` @${r.aliases.join(', @')}` : '';
      this.result.textContent = `Registered ${str(r.name)}:${num(r.version) ?? '?'}${aliases}`;
    } else if (r.state === 'error') {
      this.result.textContent = str(r.message);
    }
    this.result.dataset.state = str(r.state);
  }

  private _submit(): void {
    const name = this.name.value.trim();
    if (!name) {
      this.result.textContent = 'Give the model a name.';
      this.result.dataset.state = 'error';
      this.result.classList.add('mltrain-error-text');
      return;
    }
    this.button.disabled = true;
    this.result.classList.remove('mltrain-error-text');
    this.result.textContent = 'Registering…';
    this.result.dataset.state = 'pending';
    this.send({
      type: 'register',
      name,
      alias: this.alias.value.trim(),
      path: this.path.value.trim()
    });
  }

  readonly root: HTMLDivElement;
  private name: HTMLInputElement;
  private alias: HTMLInputElement;
  private path: HTMLInputElement;
  private button: HTMLButtonElement;
  private result: HTMLSpanElement;
}

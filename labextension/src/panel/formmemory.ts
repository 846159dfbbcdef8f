// What the train form remembers across openings and page loads: the values last
// submitted for each notebook, kept in JupyterLab's state database (the workspace).
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { carriedValues, ITrainFormValues, validValues } from './formvalues';

/** Where the memory is kept: JupyterLab's IStateDB, or anything with its fetch and save. */
export interface IStateStore {
  fetch(id: string): Promise<unknown>;
  save(id: string, value: ReadonlyPartialJSONObject): Promise<unknown>;
}

/** The key of the memory in the state database. */
export const STATE_ID = 'jupyter-mltrain:train-form';

/** Notebooks remembered at most (the least recently submitted are forgotten first). */
export const MAX_NOTEBOOKS = 100;

/** The values last submitted per notebook path, and what carries over to a notebook never trained. */
export class FormMemory {
  constructor(private readonly store: IStateStore | null) {
    this.ready = this._load();
  }

  /** Resolves once the stored memory is read (never rejects). */
  readonly ready: Promise<void>;

  /** The values last submitted for the notebook at `path`, or null. */
  forNotebook(path: string): Partial<ITrainFormValues> | null {
    const values = this._notebooks.get(path);
    return values ? { ...values, extra: { ...values.extra } } : null;
  }

  /** What carries over from the last submit of any notebook: target, sizes, mode and experiment. */
  get last(): Partial<ITrainFormValues> {
    return { ...this._last };
  }

  /** Remember the values submitted for `path`, and store them. */
  async remember(path: string, values: ITrainFormValues): Promise<void> {
    await this.ready; // what is stored must not overwrite this
    this._notebooks.delete(path); // to the end: the most recent
    this._notebooks.set(path, { ...values, extra: { ...values.extra } });
    while (this._notebooks.size > MAX_NOTEBOOKS) {
      this._notebooks.delete(this._notebooks.keys().next().value!);
    }
    this._last = carriedValues(values);
    if (!this.store) return;
    const notebooks: Record<string, ReadonlyPartialJSONObject> = {};
    for (const [p, v] of this._notebooks) notebooks[p] = v as unknown as ReadonlyPartialJSONObject;
    try {
      await this.store.save(STATE_ID, {
        last: this._last as unknown as ReadonlyPartialJSONObject,
        notebooks
      });
    } catch (err) {
      console.warn('mltrain: cannot store the train form values', err);
    }
  }

  private async _load(): Promise<void> {
    if (!this.store) return;
    let raw: unknown;
    try {
      raw = await this.store.fetch(STATE_ID);
    } catch (err) {
      console.warn('mltrain: cannot read the stored train form values', err);
      return;
    }
    if (!raw || typeof raw !== 'object') return;
    const { last, notebooks } = raw as { last?: unknown; notebooks?: unknown };
    this._last = carriedValues(validValues(last));
    if (notebooks && typeof notebooks === 'object') {
      for (const [path, values] of Object.entries(notebooks)) {
        this._notebooks.set(path, validValues(values));
      }
    }
  }

  private _last: Partial<ITrainFormValues> = {};
  private _notebooks = new Map<string, Partial<ITrainFormValues>>();
}

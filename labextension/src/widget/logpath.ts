// Where the full log of a rank is: its path with a copy button, and a download link
// when the Jupyter server serves the run's files.
import { h } from '../common/dom';
import { sortRanks } from '../common/series';
import { obj } from './traits';

/** The log pane's "all ranks" source. */
export const ALL = 'all';

/**
 * A server-relative URL ("mltrain/api/...") made absolute with the Jupyter server's base URL from the
 * page config; "" where there is no Jupyter server (a saved notebook rendered elsewhere).
 */
export function resolveServerUrl(url: string): string {
  if (!url || /^([a-z]+:)?\//i.test(url)) return url;
  const node = document.getElementById('jupyter-config-data');
  if (!node) return '';
  try {
    const base = JSON.parse(node.textContent || '{}').baseUrl || '/';
    return String(base).replace(/\/*$/, '/') + url;
  } catch {
    return '';
  }
}

/** Select the text of a node, so Ctrl/Cmd-C copies it (where the clipboard API is not allowed). */
function selectText(node: Node): void {
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

/** The toolbar's "full log: PATH copy download" box. */
export class LogPath {
  /** The box's element. */
  readonly root = h('span', { class: 'mltrain-logpath' });

  /** `log_paths` (rank -> path) and `files_url` (may be empty; relative = under the Jupyter server's base URL). */
  setPaths(paths: unknown, filesUrl: unknown): void {
    this.logPaths = obj(paths);
    this.filesUrl = resolveServerUrl(
      typeof filesUrl === 'string' ? filesUrl.replace(/\/+$/, '') : ''
    );
  }

  /** Show where the log of `source` (a rank, or ALL) is. */
  render(source: string): void {
    const box = this.root;
    box.replaceChildren();
    if (source === ALL) {
      const ranks = sortRanks(Object.keys(this.logPaths));
      if (ranks.length === 0) return;
      if (this.filesUrl) {
        box.append('full logs: ');
        ranks.forEach((r, i) => {
          if (i) box.append(' ');
          box.append(
            h(
              'a',
              { href: this._url(r), target: '_blank', rel: 'noopener', download: `rank-${r}.log` },
              `rank ${r}`
            )
          );
        });
        return;
      }
      const dirs = new Set(ranks.map(r => String(this.logPaths[r]).replace(/\/[^/]*$/, '')));
      if (dirs.size === 1) this._pathWithCopy('full logs in: ', [...dirs][0]);
      return;
    }
    const path = this.logPaths[source];
    if (!path) return;
    this._pathWithCopy('full log: ', String(path));
    if (this.filesUrl) {
      box.append(
        h(
          'a',
          {
            href: this._url(source),
            target: '_blank',
            rel: 'noopener',
            download: `rank-${source}.log`,
            class: 'mltrain-link'
          },
          'download'
        )
      );
    }
  }

  private _url(r: string): string {
    return `${this.filesUrl}/logs/rank-${encodeURIComponent(r)}.log`;
  }

  private _pathWithCopy(label: string, path: string): void {
    // Long paths are cut at the start (the file name matters most); the bdi keeps the path's own order.
    const code = h(
      'code',
      { class: 'mltrain-path mltrain-path-tail', title: path },
      h('bdi', { dir: 'ltr' }, path)
    );
    const copy = h(
      'button',
      { type: 'button', class: 'mltrain-linkbutton', title: 'Copy the path' },
      'copy'
    );
    copy.addEventListener('click', async () => {
      let ok = false;
      try {
        if (navigator.clipboard) {
          await navigator.clipboard.writeText(path);
          ok = true;
        }
      } catch {
        ok = false;
      }
      if (!ok) selectText(code); // not a secure context
      copy.textContent = ok ? 'copied' : 'selected';
      setTimeout(() => (copy.textContent = 'copy'), 1500);
    });
    this.root.append(h('span', { class: 'mltrain-logpath-label' }, label), code, copy);
  }

  private logPaths: Record<string, unknown> = {};
  private filesUrl = '';
}
